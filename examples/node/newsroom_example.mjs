#!/usr/bin/env node
// Newsroom example client for Node.js: @grpc/grpc-js, with the API loaded from proto/ at run time
// by @grpc/proto-loader (no generated code; `scripts/gen-clients ts` makes TypeScript types for
// the same loader options).
//
// Creates an article, corrects its standfirst as an editor would (UpdateArticle with the etag of
// the version the change is based on), reads it three times as two readers (and retries the last
// read once, as a client would after a lost answer), prints it with "Read N times", lists the most read articles
// of the day, and looks up an article that does not exist. Every call has a deadline; calls that
// are safe to retry are retried on UNAVAILABLE, DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED with
// exponential backoff, and nothing else is retried.
//
//   npm ci    # once, at the repository root (or scripts/npm-tools)
//   node examples/node/newsroom_example.mjs --addr=127.0.0.1:50051 \
//       --tls-ca=.run/tls/ca.pem --token-file=.run/editor-token
//
// Flags default to the CLI's environment variables: NEWSROOM_ADDR, NEWSROOM_TLS_CA (unset:
// plaintext) and NEWSROOM_EDITOR_TOKEN (the token itself; --token-file reads it from a file).
// --proto-dir (env NEWSROOM_PROTO_DIR) is the proto/ directory, by default the repository's.
//
// Exit status: 0 done (also when analytics-service is down: the article is still served, without
// counts), 1 the API refused a call, 2 bad usage or no editor token, 3 content-service unavailable
// after every retry.

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const { status } = grpc;

// Codes after which the same request may be sent again, for calls that are idempotent:
// UNAVAILABLE (not reached, or shutting down), DEADLINE_EXCEEDED (outcome unknown, so only for
// idempotent calls) and RESOURCE_EXHAUSTED (content-service refused it at once: too many calls).
const RETRYABLE = new Set([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED]);

const codeName = (code) => Object.keys(status).find((name) => status[name] === code) ?? `${code}`;

// A retryable error persisted through every attempt.
class GaveUp extends Error {
  constructor(method, error, attempts) {
    super(`${method}: ${codeName(error.code)}: ${error.details} (gave up after ${attempts} attempts)`);
    this.code = error.code;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ContentService calls with a deadline each, retried where that is safe.
class Client {
  constructor(stub, deadlineMs, attempts, token) {
    this.stub = stub;
    this.deadlineMs = deadlineMs;
    this.attempts = attempts;
    this.token = token;
  }

  once(method, request, metadata) {
    return new Promise((resolve, reject) => {
      const options = { deadline: new Date(Date.now() + this.deadlineMs) };
      this.stub[method](request, metadata, options, (error, response) =>
        error ? reject(error) : resolve(response));
    });
  }

  // Calls `method`, retrying RETRYABLE codes with backoff: only for idempotent requests.
  // `onRetryError(error)` may turn an error seen on a retry into a result (CreateArticle's
  // ALREADY_EXISTS); it returns undefined to raise the error as usual.
  async call(method, request, metadata = new grpc.Metadata(), onRetryError = undefined) {
    let backoffMs = 100;
    for (let attempt = 1; attempt <= this.attempts; ++attempt) {
      try {
        return await this.once(method, request, metadata);
      } catch (error) {
        if (error.code === undefined) throw error;  // not a gRPC status
        if (attempt > 1 && onRetryError) {
          const result = await onRetryError(error);
          if (result !== undefined) return result;
        }
        if (!RETRYABLE.has(error.code)) throw error;
        if (attempt === this.attempts) throw new GaveUp(method, error, attempt);
        await sleep(backoffMs * (0.5 + Math.random() / 2));  // jitter: no retry storms
        backoffMs = Math.min(backoffMs * 2, 2000);
      }
    }
    throw new Error('unreachable');
  }

  // CreateArticle, retried: the client picks article_id, so a retry cannot make a second article.
  // ALREADY_EXISTS on a retry means an earlier attempt most likely created it.
  createArticle(articleId, article) {
    const name = `articles/${articleId}`;
    const editor = new grpc.Metadata();
    editor.set('authorization', `Bearer ${this.token}`);
    const alreadyCreated = async (error) => {
      if (error.code !== status.ALREADY_EXISTS) return undefined;
      const existing = await this.call('GetArticle', { name });
      return existing.title === article.title ? existing : undefined;
    };
    return this.call('CreateArticle', { article_id: articleId, article }, editor, alreadyCreated);
  }

  // UpdateArticle of the subtitle, sent with the etag of the version it is based on. ABORTED means
  // the article changed since it was read (another editor, a concurrent update, or this update's
  // own earlier attempt whose answer was lost): read it again and reapply the change, unless it is
  // already there. Other retryable codes resend the same request, which the etag makes safe.
  async updateSubtitle(article, subtitle) {
    const editor = new grpc.Metadata();
    editor.set('authorization', `Bearer ${this.token}`);
    let current = article;
    for (let attempt = 1; attempt <= this.attempts; ++attempt) {
      if (current.subtitle === subtitle) return current;
      const request = {
        article: { name: current.name, etag: current.etag, subtitle },
        update_mask: { paths: ['subtitle'] },
      };
      try {
        return await this.call('UpdateArticle', request, editor);
      } catch (error) {
        if (error.code !== status.ABORTED) throw error;
      }
      current = await this.call('GetArticle', { name: current.name });
    }
    if (current.subtitle === subtitle) return current;  // the last attempt landed, its answer was lost
    throw new Error(`UpdateArticle ${article.name}: changed by others on every attempt`);
  }

  // ReadArticle: a page view. Safe to retry because every attempt carries the same read_id, which
  // analytics counts once however often it arrives (within its dedup window, 48 hours by default).
  readArticle(name, readerId, readId) {
    return this.call('ReadArticle', { name, reader_id: readerId, read_id: readId });
  }
}

function readLine(article) {
  if (!article.read_stats) return 'read count unavailable (analytics-service did not answer in time)';
  const reads = Number(article.read_stats.reads);  // int64 arrives as a string (longs: String)
  return reads === 1 ? 'Read 1 time' : `Read ${reads} times`;
}

function sampleArticle(title) {
  return {
    title,
    subtitle: "The island's only car ferry is back in service.",
    body: 'The Mārama left the slipway on Tuesday after 26 months of work.\n\n' +
      'Crossings take 40 minutes instead of 55; fares stay at €4.',
    lead_image: {
      uri: 'https://images.example.org/ferry.jpg', caption: 'The Mārama in the harbour',
      alt_text: 'A white ferry', credit: 'Example Photo Desk',
    },
    source: { name: 'Example Gazette', uri: 'https://news.example.org/ferry' },
    tags: ['transport', 'example'],
    language: 'en',
    authors: ['Ana Example'],
  };
}

async function run(client, options) {
  const articleId = options['article-id'] ?? `example-${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  let article = await client.createArticle(articleId, sampleArticle(options.title));
  console.log(`Created ${article.name}: ${article.title}`);
  article = await client.updateSubtitle(
    article, "The island's only car ferry is back in service, faster and quieter.");
  console.log(`Updated ${article.name}: ${article.subtitle}`);

  // Two readers, three page views. Each page view gets its own read_id, kept for its retries.
  const views = [['reader-ana', randomUUID()], ['reader-ben', randomUUID()], ['reader-ana', randomUUID()]];
  for (const [index, [reader, readId]] of views.entries()) {
    article = await client.readArticle(article.name, reader, readId);
    console.log(`Read ${index + 1} by ${reader}: ${readLine(article)}`);
  }
  // As if the answer to the third view were lost: the same read_id again counts nothing.
  const [reader, readId] = views[views.length - 1];
  article = await client.readArticle(article.name, reader, readId);
  console.log(`Read ${views.length} retried with the same read_id: ${readLine(article)}`);

  console.log();
  console.log(`== ${article.title} ==`);
  console.log(article.subtitle);
  console.log(article.body);
  console.log(article.read_stats
    ? `${readLine(article)} by ${article.read_stats.unique_readers} readers`
    : 'Read count unavailable right now');

  console.log();
  try {
    const top = await client.call('ListMostReadArticles', { period: 'PERIOD_LAST_DAY', page_size: 5 });
    console.log('Most read today:');
    top.articles.forEach((entry, index) =>
      console.log(`  ${index + 1}. ${entry.article.title}: ${entry.reads} reads`));
  } catch (error) {
    if (!(error instanceof GaveUp) || error.code !== status.UNAVAILABLE) throw error;
    // Rankings live in analytics-service: without it the list is unavailable, the rest works.
    console.log(`Most read today: unavailable right now (${error.message})`);
  }

  const missing = `articles/${articleId}-missing`;
  try {
    await client.call('GetArticle', { name: missing });
    console.log(`${missing}: unexpectedly found`);
    return 1;
  } catch (error) {
    if (error.code !== status.NOT_FOUND) throw error;
    console.log(`${missing}: NOT_FOUND, as expected (not retried)`);
  }
  return 0;
}

async function main() {
  const here = dirname(fileURLToPath(import.meta.url));
  let options;
  try {
    ({ values: options } = parseArgs({
      options: {
        addr: { type: 'string', default: process.env.NEWSROOM_ADDR ?? '127.0.0.1:50051' },
        'tls-ca': { type: 'string', default: process.env.NEWSROOM_TLS_CA },
        'token-file': { type: 'string' },
        'article-id': { type: 'string' },
        title: { type: 'string', default: 'Harbour ferry returns after a two-year refit' },
        deadline: { type: 'string', default: '5' },
        attempts: { type: 'string', default: '4' },
        'proto-dir': { type: 'string', default: process.env.NEWSROOM_PROTO_DIR ?? join(here, '../../proto') },
      },
    }));
  } catch (error) {
    console.error(`usage: ${error.message}`);
    return 2;
  }

  const attempts = Number(options.attempts);
  const deadlineSeconds = Number(options.deadline);
  if (!Number.isInteger(attempts) || attempts < 1 || !(deadlineSeconds > 0)) {
    console.error('usage: --attempts must be a whole number, at least 1, and --deadline more than 0');
    return 2;
  }

  let token = process.env.NEWSROOM_EDITOR_TOKEN ?? '';
  if (options['token-file']) token = readFileSync(options['token-file'], 'utf8').trim();
  if (!token) {
    console.error('CreateArticle needs the editor token: --token-file=FILE or env NEWSROOM_EDITOR_TOKEN');
    return 2;
  }

  // These loader options are the ones `scripts/gen-clients ts` types: field names as in the
  // proto, int64 as strings, enums as their names, defaults filled in.
  const definition = protoLoader.loadSync('newsroom/content/v1/content_service.proto', {
    includeDirs: [options['proto-dir']], keepCase: true, longs: String, enums: String,
    defaults: true, oneofs: true,
  });
  const { ContentService } = grpc.loadPackageDefinition(definition).newsroom.content.v1;
  const credentials = options['tls-ca']
    ? grpc.credentials.createSsl(readFileSync(options['tls-ca']))
    : grpc.credentials.createInsecure();
  const stub = new ContentService(options.addr, credentials);
  const client = new Client(stub, deadlineSeconds * 1000, attempts, token);
  try {
    return await run(client, options);
  } catch (error) {
    if (error instanceof GaveUp) {
      console.error(`content-service at ${options.addr} is unavailable: ${error.message}`);
      return 3;
    }
    if (error.code === undefined) throw error;
    console.error(`content-service refused a call: ${codeName(error.code)}: ${error.details}`);
    return 1;
  } finally {
    stub.close();
  }
}

process.exitCode = await main();
