"""The privacy app's console and public pages, one module per subject."""
