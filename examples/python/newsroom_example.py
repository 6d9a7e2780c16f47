#!/usr/bin/python3
"""Newsroom example client in Python (grpcio, stubs from `scripts/gen-clients python`).

Creates an article, corrects its standfirst as an editor would (UpdateArticle with the etag of
the version the change is based on), reads it three times as two readers (and retries the last read once, as a
client would after a lost answer), prints it with "Read N times", lists the most read articles of
the day, and looks up an article that does not exist. Every call has a deadline; calls that are
safe to retry are retried on UNAVAILABLE, DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED with
exponential backoff, and nothing else is retried.

    scripts/gen-clients python
    PYTHONPATH=gen/python examples/python/newsroom_example.py \
        --addr=127.0.0.1:50051 --tls-ca=.run/tls/ca.pem --token-file=.run/editor-token

Flags default to the CLI's environment variables: NEWSROOM_ADDR, NEWSROOM_TLS_CA (unset:
plaintext) and NEWSROOM_EDITOR_TOKEN (the token itself; --token-file reads it from a file).

Exit status: 0 done (also when analytics-service is down: the article is still served, without
counts), 1 the API refused a call, 2 bad usage or no editor token, 3 content-service unavailable
after every retry.
"""

import argparse
import os
import random
import sys
import time
import uuid

import grpc
from google.protobuf import field_mask_pb2

try:
    from newsroom.analytics.v1 import analytics_service_pb2 as analytics_pb2
    from newsroom.content.v1 import content_service_pb2 as content_pb2
    from newsroom.content.v1 import content_service_pb2_grpc as content_grpc
except ImportError as error:
    sys.exit(f"cannot import the generated stubs ({error}): run `scripts/gen-clients python` "
             "and put gen/python on PYTHONPATH")

# Codes after which the same request may be sent again, for calls that are idempotent:
# UNAVAILABLE (not reached, or shutting down), DEADLINE_EXCEEDED (outcome unknown, so only for
# idempotent calls) and RESOURCE_EXHAUSTED (content-service refused it at once: too many calls).
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                       grpc.StatusCode.RESOURCE_EXHAUSTED})


class GaveUp(Exception):
    """A retryable error persisted through every attempt."""

    def __init__(self, method, error, attempts):
        super().__init__(f"{method}: {error.code().name}: {error.details()} "
                         f"(gave up after {attempts} attempts)")
        self.code = error.code()


class Client:
    """ContentService calls with a deadline each, retried where that is safe."""

    def __init__(self, channel, deadline, attempts, token):
        self.stub = content_grpc.ContentServiceStub(channel)
        self.deadline = deadline
        self.attempts = attempts
        self.editor = (("authorization", f"Bearer {token}"),) if token else ()

    def call(self, method, request, metadata=(), on_retry_error=None):
        """Calls `method`, retrying RETRYABLE codes with backoff: only for idempotent requests.

        `on_retry_error(error)` may turn an error seen on a retry into a result (CreateArticle's
        ALREADY_EXISTS); it returns None to raise the error as usual.
        """
        backoff = 0.1
        for attempt in range(1, self.attempts + 1):
            try:
                return getattr(self.stub, method)(request, timeout=self.deadline,
                                                  metadata=metadata)
            except grpc.RpcError as error:
                if attempt > 1 and on_retry_error is not None:
                    result = on_retry_error(error)
                    if result is not None:
                        return result
                if error.code() not in RETRYABLE:
                    raise
                if attempt == self.attempts:
                    raise GaveUp(method, error, attempt) from error
                time.sleep(backoff * random.uniform(0.5, 1.0))  # jitter: no retry storms
                backoff = min(backoff * 2, 2.0)
        raise AssertionError("unreachable")

    def create_article(self, article_id, article):
        """CreateArticle, retried: the client picks article_id, so a retry cannot make a second
        article. ALREADY_EXISTS on a retry means an earlier attempt most likely created it."""
        name = f"articles/{article_id}"

        def already_created(error):
            if error.code() != grpc.StatusCode.ALREADY_EXISTS:
                return None
            existing = self.call("GetArticle", content_pb2.GetArticleRequest(name=name))
            return existing if existing.title == article.title else None

        request = content_pb2.CreateArticleRequest(article_id=article_id, article=article)
        return self.call("CreateArticle", request, self.editor, already_created)

    def update_subtitle(self, article, subtitle):
        """UpdateArticle of the subtitle, sent with the etag of the version it is based on.
        ABORTED means the article changed since it was read (another editor, a concurrent update,
        or this update's own earlier attempt whose answer was lost): read it again and reapply the
        change, unless it is already there. Other retryable codes resend the same request, which
        the etag makes safe."""
        current = article
        for _ in range(self.attempts):
            if current.subtitle == subtitle:
                return current
            request = content_pb2.UpdateArticleRequest(
                article=content_pb2.Article(name=current.name, etag=current.etag,
                                            subtitle=subtitle),
                update_mask=field_mask_pb2.FieldMask(paths=["subtitle"]))
            try:
                return self.call("UpdateArticle", request, self.editor)
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.ABORTED:
                    raise
            current = self.call("GetArticle", content_pb2.GetArticleRequest(name=current.name))
        if current.subtitle == subtitle:  # the last attempt landed, its answer was lost
            return current
        raise RuntimeError(f"UpdateArticle {article.name}: changed by others on every attempt")

    def read_article(self, name, reader_id, read_id):
        """ReadArticle: a page view. Safe to retry because every attempt carries the same
        read_id, which analytics counts once however often it arrives (within its dedup window, 48 hours by default)."""
        request = content_pb2.ReadArticleRequest(name=name, reader_id=reader_id, read_id=read_id)
        return self.call("ReadArticle", request)


def read_line(article):
    if not article.HasField("read_stats"):
        return "read count unavailable (analytics-service did not answer in time)"
    reads = article.read_stats.reads
    return f"Read {reads} time" if reads == 1 else f"Read {reads} times"


def sample_article(title):
    return content_pb2.Article(
        title=title,
        subtitle="The island's only car ferry is back in service.",
        body=("The Mārama left the slipway on Tuesday after 26 months of work.\n\n"
              "Crossings take 40 minutes instead of 55; fares stay at €4."),
        lead_image=content_pb2.Image(uri="https://images.example.org/ferry.jpg",
                                     caption="The Mārama in the harbour", alt_text="A white ferry",
                                     credit="Example Photo Desk"),
        source=content_pb2.Source(name="Example Gazette", uri="https://news.example.org/ferry"),
        tags=["transport", "example"], language="en", authors=["Ana Example"])


def run(client, args):
    article_id = args.article_id or f"example-{uuid.uuid4().hex[:12]}"
    article = client.create_article(article_id, sample_article(args.title))
    print(f"Created {article.name}: {article.title}")
    article = client.update_subtitle(
        article, "The island's only car ferry is back in service, faster and quieter.")
    print(f"Updated {article.name}: {article.subtitle}")

    # Two readers, three page views. Each page view gets its own read_id, kept for its retries.
    views = [("reader-ana", str(uuid.uuid4())), ("reader-ben", str(uuid.uuid4())),
             ("reader-ana", str(uuid.uuid4()))]
    for number, (reader, read_id) in enumerate(views, start=1):
        article = client.read_article(article.name, reader, read_id)
        print(f"Read {number} by {reader}: {read_line(article)}")
    # As if the answer to the third view were lost: the same read_id again counts nothing.
    reader, read_id = views[-1]
    article = client.read_article(article.name, reader, read_id)
    print(f"Read {len(views)} retried with the same read_id: {read_line(article)}")

    print()
    print(f"== {article.title} ==")
    print(article.subtitle)
    print(article.body)
    if article.HasField("read_stats"):
        print(f"{read_line(article)} by {article.read_stats.unique_readers} readers")
    else:
        print("Read count unavailable right now")

    print()
    try:
        top = client.call("ListMostReadArticles", content_pb2.ListMostReadArticlesRequest(
            period=analytics_pb2.PERIOD_LAST_DAY, page_size=5))
        print("Most read today:")
        for rank, entry in enumerate(top.articles, start=1):
            print(f"  {rank}. {entry.article.title}: {entry.reads} reads")
    except GaveUp as error:
        if error.code != grpc.StatusCode.UNAVAILABLE:
            raise
        # Rankings live in analytics-service: without it the list is unavailable, the rest works.
        print(f"Most read today: unavailable right now ({error})")

    missing = f"articles/{article_id}-missing"
    try:
        client.call("GetArticle", content_pb2.GetArticleRequest(name=missing))
        print(f"{missing}: unexpectedly found")
        return 1
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.NOT_FOUND:
            raise
        print(f"{missing}: NOT_FOUND, as expected (not retried)")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--addr", default=os.environ.get("NEWSROOM_ADDR", "127.0.0.1:50051"),
                        help="content-service HOST:PORT (env NEWSROOM_ADDR)")
    parser.add_argument("--tls-ca", default=os.environ.get("NEWSROOM_TLS_CA"),
                        help="PEM CA that signed content-service's certificate; unset: "
                             "plaintext (env NEWSROOM_TLS_CA)")
    parser.add_argument("--token-file", help="file holding the editor token "
                        "(default: env NEWSROOM_EDITOR_TOKEN)")
    parser.add_argument("--article-id", help="id of the article to create (default: random)")
    parser.add_argument("--title", default="Harbour ferry returns after a two-year refit")
    parser.add_argument("--deadline", type=float, default=5.0, help="seconds per call attempt")
    parser.add_argument("--attempts", type=int, default=4, help="tries per retryable call")
    args = parser.parse_args()
    if args.attempts < 1 or not args.deadline > 0:
        parser.error("--attempts must be at least 1 and --deadline more than 0")

    token = os.environ.get("NEWSROOM_EDITOR_TOKEN", "")
    if args.token_file:
        with open(args.token_file, encoding="utf-8") as file:
            token = file.read().strip()
    if not token:
        print("CreateArticle needs the editor token: --token-file=FILE or env "
              "NEWSROOM_EDITOR_TOKEN", file=sys.stderr)
        return 2

    if args.tls_ca:
        with open(args.tls_ca, "rb") as file:
            credentials = grpc.ssl_channel_credentials(root_certificates=file.read())
        channel = grpc.secure_channel(args.addr, credentials)
    else:
        channel = grpc.insecure_channel(args.addr)
    with channel:
        client = Client(channel, args.deadline, args.attempts, token)
        try:
            return run(client, args)
        except GaveUp as error:
            print(f"content-service at {args.addr} is unavailable: {error}", file=sys.stderr)
            return 3
        except grpc.RpcError as error:
            print(f"content-service refused a call: {error.code().name}: {error.details()}",
                  file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
