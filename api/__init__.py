"""API: answering questions over an index, the HTTP service and the command line."""
