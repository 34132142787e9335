"""Case families for the searches, one module per kind of case."""
