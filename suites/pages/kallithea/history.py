"""The changelog and one changeset, with its comments."""

from __future__ import annotations

import re

from hgharness.suites.pages.base import Locator, css, norm
from hgharness.suites.pages.kallithea.repos import RepoPage
from selenium.webdriver.common.by import By

NODE = re.compile(r"/changeset/([0-9a-f]{12,40})")


class ChangelogPage(RepoPage):
    ROUTE = "log"
    LOADED = css("tr[id^='chg_']")
    _row_links = css("tr[id^='chg_'] td.hash a.changeset_hash, tr[id^='chg_'] a.changeset_hash")
    _messages = css("tr[id^='chg_'] div.message-firstline a.message-link")

    @property
    def nodes(self) -> list[str]:
        """Short hashes of the listed changesets, newest first (each row's own hash, once)."""
        seen = []
        for _text, href in self.links(css("tr[id^='chg_'] a.message-link")):
            m = NODE.search(href)
            if m and m.group(1)[:12] not in seen:
                seen.append(m.group(1)[:12])
        return seen

    @property
    def messages(self) -> list[str]:
        return [norm(t) for t in self.texts(self._messages)]

    def open_changeset(self, node: str) -> "ChangesetPage":
        link = css(f"tr[id^='chg_'] a.message-link[href*='/changeset/{node[:12]}']")
        assert self.find_all(link), f"the changelog at {self.browser.url} does not list {node[:12]}"
        return self._follow(link, ChangesetPage)


class ChangesetPage(RepoPage):
    ROUTE = "rev"
    LOADED = css("div.cs_files")
    _hash = css("span.changeset_hash")
    _author = css("div.changeset_content_header div.author b")
    _description = css("div.changeset_content_header + div.formatted-fixed")
    _files = css("div.cs_files span.node a")
    _comments = css("#comments-general-comments div.comment-text")
    _comment_box = css("#comments-general-comments textarea[name='text']")
    _comment_save = css("#comments-general-comments input.save-inline-form")

    @property
    def node(self) -> str:
        return self.text(self._hash)

    @property
    def author(self) -> str:
        return self.text(self._author)

    @property
    def description(self) -> str:
        return self.text(self._description)

    @property
    def files(self) -> list[str]:
        return [norm(t) for t in self.texts(self._files)]

    @property
    def comments(self) -> list[str]:
        return [norm(t) for t in self.texts(self._comments)]

    def add_comment(self, text: str, status: str | None = None):
        """Write a general comment (and a review status: approved, rejected, under_review); waits until the
        site has saved it and shows it."""
        before = len(self.comments)
        self.browser.wait().until(lambda d: d.find_elements(*self._comment_box), "no comment form on the page")
        self.find(self._comment_box).send_keys(text)
        if status:
            self.find(Locator(By.CSS_SELECTOR, f"#comments-general-comments input#{status}")).click()
        self.find(self._comment_save).click()
        self.browser.wait(2).until(lambda d: len(self.comments) > before and not d.find_elements(
            By.CSS_SELECTOR, "#comments-general-comments .comment-preview.submitting:not([style*='none'])"),
            f"the comment never showed on {self.browser.url}")
        return self
