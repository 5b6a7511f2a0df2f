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
                  "compare", "pull_requests", "refs", "download_file", "raw_diff", "file_diff", "api"),
    "user": ("admin_repos", "my_account", "my_pull_requests", "journal", "repo_create", "repos_post", "fork",
             "pull_request_new", "repo_settings", "repo_permissions", "admin", "admin_users", "admin_settings",
             "admin_permissions", "logout"),
}
PULL_REQUEST_KINDS = ("pull_request", "pull_request_comment", "changeset_comment")  # test_kallithea_pull_requests

# kinds checked outside the row tables: where
ELSEWHERE = {
    "index": "test_repo_pages.test_index_links_every_repository",
    "json_index": "test_json_feeds.test_json_index_lists_every_repository",
    "archive": "test_archives.test_archive_equals_manifest",
    "static": "test_crawl (stylesheets, scripts, images) and security/test_traversal",
}


def covered() -> set[str]:
    return {*REVISION_PAGES, *FILE_PAGES, *REPOSITORY_PAGES, *DATA_VIEWS, *HOSTING_PAGES["anonymous"],
            *HOSTING_PAGES["user"], *PULL_REQUEST_KINDS, *ELSEWHERE}
