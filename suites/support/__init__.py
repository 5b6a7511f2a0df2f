"""What the suites share: the check plan, the fixture repositories' data, page fetching and reading, known site
defects, the table engine, the pytest hooks of headless and security, and Kallithea resources made through the
API. A suite imports these, never another suite's modules."""
