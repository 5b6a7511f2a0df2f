"""Which page kinds each check table covers: the test modules attach a check to every kind listed here, and
test_routes_covered asks that every kind of the site adapter is listed somewhere (a new kind without a check
fails there, so the tables cannot silently fall behind the adapter)."""

REVISION_PAGES = ("rev", "raw_rev", "log_from", "manifest", "search")  # test_pages.test_revision_page
FILE_PAGES = ("file", "raw_file", "annotate", "diff", "comparison", "filelog", "manifest")  # .test_file_page
REPOSITORY_PAGES = ("summary", "log", "shortlog", "graph", "tags", "branches", "bookmarks")  # test_repo_pages
DATA_VIEWS = ("json_log", "json_rev", "json_tags", "json_branches", "json_bookmarks", "atom_log", "rss_log",
              "capabilities")  # test_json_feeds.test_data_view

# Pages only a hosting site has, by who opens them (test_kallithea_pages)
HOSTING_PAGES = {
    "anonymous": ("login", "register", "public_journal", "site_search", "forks", "followers", "statistics",
                  "compare", "pull_requests", "refs", "download_file", "raw_diff", "api"),
    "user": ("admin_repos", "my_account", "my_pull_requests", "journal", "repo_create", "repos_post", "fork",
             "pull_request_new", "repo_settings", "repo_permissions", "admin", "admin_users", "admin_settings",
             "admin_permissions", "logout"),
}
# Kallithea's other views of a changeset, a file and a repository, each held to the fixture
# (test_kallithea_views.test_kallithea_view)
KALLITHEA_VIEWS = ("changeset_children", "changeset_info", "changelog_details", "nodelist", "file_history",
                   "file_authors", "repo_switcher", "download_rev", "raw_changeset", "compare_revs", "file_diff",
                   "file_diff_2way", "files_root", "summary_page")
PULL_REQUEST_KINDS = ("pull_request", "pull_request_comment", "changeset_comment")  # test_kallithea_pull_requests

# kinds checked outside the row tables: where
ELSEWHERE = {
    "index": "test_repo_pages.test_index_links_every_repository",
    "json_index": "test_json_feeds.test_json_index_lists_every_repository",
    "archive": "test_archives.test_archive_equals_manifest",
    "static": "test_crawl (stylesheets, scripts, images) and security/test_traversal",
}


# The check each table runs its kinds through, and what it asserts of every kind (the coverage table reads this:
# suites/support/coverage.py). Hosting pages are held to their status (and forms, redirects) only, except the
# few compared with the fixture (CONTENT_HOSTING_PAGES).
CONTENT_HOSTING_PAGES = ("refs", "download_file", "raw_diff")
TABLE_CHECKS = [
    ("test_revision_page", REVISION_PAGES, ("status", "content")),
    ("test_file_page", FILE_PAGES, ("status", "content")),
    ("test_repository_page", REPOSITORY_PAGES, ("status", "content")),
    ("test_data_view", DATA_VIEWS, ("status", "content")),
    ("test_kallithea_page", tuple(k for who in HOSTING_PAGES.values() for k in who), ("status",)),
    ("test_kallithea_page", CONTENT_HOSTING_PAGES, ("content",)),
    ("test_kallithea_view", KALLITHEA_VIEWS, ("status", "content")),
    ("test_pull_request_from_a_fork_is_opened_and_reviewed", PULL_REQUEST_KINDS, ("status",)),
    ("test_index_links_every_repository", ("index",), ("status", "content")),
    ("test_json_index_lists_every_repository", ("json_index",), ("status", "content")),
    ("test_archive_equals_manifest", ("archive",), ("status", "content")),
    ("test_crawl_from_root", ("static",), ("status",)),
]

# What the checks outside the tables assert (the contract of suites/support/coverage.py; "kind" is a page kind)
COVERAGE = [
    {"route": "wire:capabilities", "aspect": "status", "check": "test_wire_protocol_capabilities"},
    {"route": "changeset_parents", "rep": "json", "aspect": "content", "check": "test_revision_page"},  # Kallithea
    {"route": "wire:batch", "aspect": "status", "check": "test_clone_has_every_changeset"},
    {"route": "wire:getbundle", "aspect": "status", "check": "test_clone_has_every_changeset"},
    {"route": "wire:getbundle", "aspect": "content", "check": "test_clone_has_every_changeset"},
    {"route": "wire:heads", "aspect": "content", "check": "test_heads_and_bookmarks_match_fixture"},
    {"route": "wire:listkeys", "aspect": "content", "check": "test_heads_and_bookmarks_match_fixture"},
    {"route": "wire:branchmap", "aspect": "content", "check": "test_heads_and_bookmarks_match_fixture"},
    {"route": "wire:lookup", "aspect": "content", "check": "test_lookup_and_known"},
    {"route": "wire:known", "aspect": "content", "check": "test_lookup_and_known"},
    {"route": "wire:unbundle", "aspect": "status", "check": "test_push_then_pull_sees_new_head"},
    {"route": "wire:getbundle", "aspect": "freshness", "write": "push", "check": "test_push_then_pull_sees_new_head"},
    {"kind": "shortlog", "aspect": "freshness", "write": "push", "check": "test_push_then_pull_sees_new_head"},
    {"kind": "rev", "aspect": "freshness", "write": "push", "check": "test_push_then_pull_sees_new_head"},
    {"route": "wire:unbundle", "aspect": "policy", "check": "test_push_permissions"},
    {"kind": "index", "aspect": "policy", "check": "test_security_header"},
    {"kind": "summary", "aspect": "policy", "check": "test_security_header"},
    {"kind": "rev", "aspect": "policy", "check": "test_security_header"},
    {"kind": "raw_file", "aspect": "policy", "check": "test_security_header"},
    {"kind": "json_log", "aspect": "policy", "check": "test_security_header"},
    {"kind": "raw_file", "aspect": "policy", "check": "test_raw_file_cannot_run_script"},
    {"kind": "archive", "aspect": "policy", "check": "test_archive_cannot_run_script"},
    {"kind": "summary", "aspect": "policy", "check": "test_private_repository_hidden_from_anonymous"},
    {"route": "wire:unbundle", "aspect": "policy", "check": "test_push_needs_write_permission"},
    {"kind": "login", "aspect": "policy", "check": "test_login_form_without_csrf_token_is_refused"},
]


def covered() -> set[str]:
    return {*REVISION_PAGES, *FILE_PAGES, *REPOSITORY_PAGES, *DATA_VIEWS, *HOSTING_PAGES["anonymous"],
            *HOSTING_PAGES["user"], *KALLITHEA_VIEWS, *PULL_REQUEST_KINDS, *ELSEWHERE}
