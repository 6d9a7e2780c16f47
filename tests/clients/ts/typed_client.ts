// Compiled (not run) by stubs_test.py with `tsc --strict` against the types `scripts/gen-clients ts`
// makes: a typed @grpc/grpc-js client loaded the way examples/node loads it. The @ts-expect-error
// lines prove the types are enforced (a misspelt field or a wrong type fails to compile), not `any`.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

import type { ProtoGrpcType } from 'newsroom-gen/content_service';
import type { Article__Output } from 'newsroom-gen/newsroom/content/v1/Article';
import type { ListMostReadArticlesResponse__Output } from 'newsroom-gen/newsroom/content/v1/ListMostReadArticlesResponse';
import type { WatchArticleReadStatsResponse__Output } from 'newsroom-gen/newsroom/content/v1/WatchArticleReadStatsResponse';

// The options the generated types were made for (scripts/gen-clients ts).
const definition = protoLoader.loadSync('newsroom/content/v1/content_service.proto', {
  includeDirs: ['proto'], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
});
const api = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
const client = new api.newsroom.content.v1.ContentService('127.0.0.1:50051', grpc.credentials.createInsecure());

export function readArticle(name: string, readId: string): Promise<Article__Output> {
  return new Promise((resolve, reject) => {
    client.ReadArticle({ name, reader_id: 'reader-ana', read_id: readId }, { deadline: Date.now() + 5000 },
      (error, article) => (error || !article ? reject(error) : resolve(article)));
  });
}

export function readLine(article: Article__Output): string {
  const reads: string | undefined = article.read_stats?.reads;  // int64 as a string (longs: String)
  return reads === undefined ? 'read count unavailable' : `Read ${reads} times`;
}

export function mostRead(): Promise<ListMostReadArticlesResponse__Output> {
  return new Promise((resolve, reject) => {
    client.ListMostReadArticles({ period: 'PERIOD_LAST_DAY', page_size: 5 }, { deadline: Date.now() + 5000 },
      (error, response) => (error || !response ? reject(error) : resolve(response)));
  });
}

// A server stream: the first message is a snapshot, later ones the changes.
export function watch(names: string[], onReads: (name: string, reads: string) => void): grpc.ClientReadableStream<WatchArticleReadStatsResponse__Output> {
  const call = client.WatchArticleReadStats({ names });
  call.on('data', (response: WatchArticleReadStatsResponse__Output) => {
    for (const stats of response.read_stats) onReads(stats.article, stats.reads);
  });
  return call;
}

export function typeErrors(): void {
  // @ts-expect-error: GetArticleRequest has no field `nmae`
  client.GetArticle({ nmae: 'articles/x' }, () => undefined);
  // @ts-expect-error: page_size is a number
  client.ListArticles({ page_size: 'ten' }, () => undefined);
  // @ts-expect-error: not a Period
  client.ListMostReadArticles({ period: 'PERIOD_LAST_YEAR' }, () => undefined);
  // @ts-expect-error: ContentService has no such RPC
  client.PublishArticle({}, () => undefined);
}
