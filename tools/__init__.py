"""Set-up tools (not imported by the product): fetching and verifying the offline models."""
