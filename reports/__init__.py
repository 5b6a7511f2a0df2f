"""Run directories and the reports built from them."""
