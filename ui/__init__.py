"""Streamlit pages of the assistant (app.py is the entry point).

One module per page (chat, finder, targets_page, evaluation), the sidebar, shared
state (the cached Assistant) and pure text helpers (text.py, no Streamlit).
No retrieval or answering logic lives here: it calls assistant/ and index/.
"""
