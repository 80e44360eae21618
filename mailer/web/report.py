"""The synthesis report of a closed discussion, as a page of the archive.

The same self-contained HTML page ``ediscuss report`` writes (its chart a
``data:`` image, its styles inline), in the reader's language, built at most
every few minutes. What it shows of people is what the archive shows: names
as :func:`~mailer.web.text.display_name` makes them, addresses in texts
shortened, and a participant without a name called so, never by address.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailer.synthesis.chart import participation_png
from mailer.synthesis.data import build_report
from mailer.synthesis.labels import LABELS
from mailer.synthesis.render import to_html
from mailer.web.context import Web
from mailer.web.exports import ExportCache
from mailer.web.text import clean_text, display_name, hide_addresses
from store.archive import discussion_state
from store.models import DiscussionState
from store.reports import ReportPost, report_posts

# The report's own styles are inline and its chart a data: image; no script.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def public_post(post: ReportPost, domain: str, nameless: str) -> ReportPost:
    """*post* with nothing the archive would not show: no address in any text."""
    return replace(
        post,
        author_name=display_name(post.author_name, domain) or nameless,
        parent_author=display_name(post.parent_author, domain),
        organisation=display_name(post.organisation, domain),
        body=hide_addresses(clean_text(post.body), domain),
    )


def routes(web: Web) -> Sequence[BaseRoute]:
    """The report route, bound to *web*."""
    domain = web.settings.service.domain
    cache = ExportCache(ttl=300.0)

    async def report(request: Request) -> Response:
        disc = web.discussion(request.path_params["slug"])
        page = web.page(request, disc)
        view = await web.read(lambda s: discussion_state(s, disc.slug))
        if view is None or view.state is not DiscussionState.CLOSED:
            raise HTTPException(404)  # a report is of a whole discussion
        language = page.language if page.language in LABELS else "en"
        key = (disc.slug, "report", language)
        found = cache.get(key)
        if found is None:

            def build(session: Session) -> bytes:
                nameless = page.t("anonymous")
                posts = [
                    public_post(p, domain, nameless)
                    for p in report_posts(session, disc.slug)
                ]
                made = build_report(posts, disc, language, web.runtime.clock())
                return to_html(made, participation_png(made)).encode()

            found = await web.read(build)
            cache.put(key, found)
        return Response(
            found,
            media_type="text/html; charset=utf-8",
            headers={
                "content-security-policy": REPORT_CSP,
                "cache-control": "public, max-age=300",
                "vary": "Accept-Language",
            },
        )

    return [Route("/d/{slug}/report", report, methods=["GET"])]
