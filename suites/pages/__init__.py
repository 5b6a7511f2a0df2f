"""Page objects: one class per page kind of a site, exposing intents and state, never locators (DESIGN.md 1)."""
