"""The changelog and one changeset, with its comments."""

from __future__ import annotations

import re

from hgharness.suites.pages.base import css, listed, shown
from hgharness.suites.pages.kallithea.repos import RepoPage

NODE = re.compile(r"/changeset/([0-9a-f]{12,40})")
GENERAL_COMMENTS = "#comments-general-comments"  # the comments on the whole changeset, not on a line


class ChangelogPage(RepoPage, route="log", loaded=css("tr[id^='chg_']")):
    _message_links = css("tr[id^='chg_'] a.message-link")
    _messages = css("tr[id^='chg_'] div.message-firstline a.message-link")

    messages = listed(_messages)

    @property
    def nodes(self) -> list[str]:
        """Short hashes of the listed changesets, newest first (each row's own hash, once)."""
        seen = []
        for _text, href in self.links(self._message_links):
            m = NODE.search(href)
            if m and m.group(1)[:12] not in seen:
                seen.append(m.group(1)[:12])
        return seen

    def open_changeset(self, node: str) -> ChangesetPage:
        link = css(f"tr[id^='chg_'] a.message-link[href*='/changeset/{node[:12]}']")
        return self._follow(link, "ChangesetPage", f"changeset {node[:12]}")


class ChangesetPage(RepoPage, route="rev", loaded=css("div.cs_files")):
    _hash = css("span.changeset_hash")
    _author = css("div.changeset_content_header div.author b")
    _description = css("div.changeset_content_header + div.formatted-fixed")
    _files = css("div.cs_files span.node a")
    _comments = css(f"{GENERAL_COMMENTS} div.comment-text")
    _comment_box = css(f"{GENERAL_COMMENTS} textarea[name='text']")
    _comment_save = css(f"{GENERAL_COMMENTS} input.save-inline-form")
    _comment_sending = css(f"{GENERAL_COMMENTS} .comment-preview.submitting:not([style*='none'])")

    node = shown(_hash)
    author = shown(_author)
    description = shown(_description)
    files = listed(_files)
    comments = listed(_comments)

    def add_comment(self, text: str, status: str | None = None):
        """Write a general comment (and a review status: approved, rejected, under_review); waits until the
        site has saved it and shows it."""
        before = len(self.comments)
        self.browser.wait().until(lambda d: d.find_elements(*self._comment_box), "no comment form on the page")
        self.find(self._comment_box).send_keys(text)
        if status:
            self.find(css(f"{GENERAL_COMMENTS} input#{status}")).click()
        self.find(self._comment_save).click()
        self.browser.wait(2).until(lambda d: len(self.comments) > before and not d.find_elements(
            *self._comment_sending), f"the comment never showed on {self.browser.url}")
        return self
