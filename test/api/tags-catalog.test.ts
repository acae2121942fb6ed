// Content discovery: tags list and _catalog, with n/last pagination and Link headers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import {
  OCI_MANIFEST, createIcuDatabase, expectError, ociImage, pushBlob, putManifestOk, randomBlob, resolve,
} from './helpers.js';

const byteOrder = (a: string, b: string) => (Buffer.compare(Buffer.from(a), Buffer.from(b)));

/** Follows rel="next" Links from `first`, returning every page and the Link headers seen. */
async function paginate<T>(base: string, first: string, key: 'tags' | 'repositories'): Promise<{ pages: T[][]; links: string[] }> {
  const pages: T[][] = [];
  const links: string[] = [];
  let url: string | undefined = `${base}${first}`;
  for (let i = 0; url && i < 100; i++) {
    const r: Response = await fetch(url);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    pages.push(((await r.json()) as Record<string, T[]>)[key]!);
    const link = r.headers.get('link');
    if (!link) break;
    links.push(link);
    const m = /^<([^>]+)>;\s*rel="next"$/.exec(link);
    assert.ok(m, `malformed Link: ${link}`);
    url = resolve(base, m[1]!);
  }
  return { pages, links };
}

describe('tags list and catalog', () => {
  let reg: TestRegistry;
  let base: string;
  const repo = 'tc/app';
  // Byte order puts digits, upper case and '_' before lower case.
  const tags = ['v1', 'v1.0', 'v1-rc', 'v1_rc', 'V2', '2024', '_private', 'latest', 'a', 'b'].sort(byteOrder);
  const repos = ['tc/app', 'tc/a-b', 'tc/a.b', 'tc/a/b', 'tc/a_b', 'tc/ab', 'tc/a0', 'deep/a/b/c/d'].sort(byteOrder);

  before(async () => {
    reg = await startTestRegistry();
    base = reg.url;
    const img = await ociImage(base, repo, 'tags');
    for (const t of tags) await putManifestOk(base, repo, t, img.manifest, OCI_MANIFEST);
    for (const r of repos.filter((x) => x !== repo)) {
      const i = await ociImage(base, r, r);
      await putManifestOk(base, r, 'latest', i.manifest, OCI_MANIFEST);
    }
    // A repository with blobs but no manifest is not listed.
    await pushBlob(base, 'tc/blobs-only', randomBlob(10, 1));
  });
  after(async () => {
    await reg.stop();
  });

  it('lists all tags in byte order without a Link', async () => {
    const r = await fetch(`${base}/v2/${repo}/tags/list`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('link'), null);
    assert.deepEqual(await r.json(), { name: repo, tags });
  });

  it('n limits the page and Link points at the next one; following Links yields every tag once', async () => {
    const { pages, links } = await paginate<string>(base, `/v2/${repo}/tags/list?n=3`, 'tags');
    assert.deepEqual(pages.map((p) => p.length), [3, 3, 3, 1]);
    assert.deepEqual(pages.flat(), tags);
    assert.equal(links.length, 3);
    assert.equal(links[0], `</v2/${repo}/tags/list?n=3&last=${encodeURIComponent(tags[2]!)}>; rel="next"`);
  });

  it('a page that ends exactly at the last tag has no Link; n larger than the count returns all', async () => {
    const exact = await paginate<string>(base, `/v2/${repo}/tags/list?n=5`, 'tags');
    assert.deepEqual(exact.pages.map((p) => p.length), [5, 5]);
    assert.equal(exact.links.length, 1);
    const r = await fetch(`${base}/v2/${repo}/tags/list?n=1000`);
    assert.equal(r.headers.get('link'), null);
    assert.deepEqual(((await r.json()) as { tags: string[] }).tags, tags);
  });

  it('last returns the tags after it (with and without n)', async () => {
    const after = tags.filter((t) => byteOrder(t, 'latest') > 0);
    const r = await fetch(`${base}/v2/${repo}/tags/list?last=latest`);
    assert.deepEqual(((await r.json()) as { tags: string[] }).tags, after);
    const r2 = await fetch(`${base}/v2/${repo}/tags/list?n=2&last=latest`);
    assert.deepEqual(((await r2.json()) as { tags: string[] }).tags, after.slice(0, 2));
    // `last` need not be an existing tag.
    const r3 = await fetch(`${base}/v2/${repo}/tags/list?last=u`);
    assert.deepEqual(((await r3.json()) as { tags: string[] }).tags, tags.filter((t) => byteOrder(t, 'u') > 0));
    const r4 = await fetch(`${base}/v2/${repo}/tags/list?last=${encodeURIComponent(tags.at(-1)!)}`);
    assert.deepEqual(((await r4.json()) as { tags: string[] }).tags, []);
  });

  it('n=0 returns an empty list', async () => {
    const r = await fetch(`${base}/v2/${repo}/tags/list?n=0`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('link'), null);
    assert.deepEqual(await r.json(), { name: repo, tags: [] });
  });

  it('invalid n is PAGINATION_NUMBER_INVALID; an unknown repository is NAME_UNKNOWN', async () => {
    for (const n of ['-1', 'abc', '1.5', '1e3']) {
      await expectError(await fetch(`${base}/v2/${repo}/tags/list?n=${n}`), 400, 'PAGINATION_NUMBER_INVALID');
      await expectError(await fetch(`${base}/v2/_catalog?n=${n}`), 400, 'PAGINATION_NUMBER_INVALID');
    }
    await expectError(await fetch(`${base}/v2/tc/nothing-here/tags/list`), 404, 'NAME_UNKNOWN');
  });

  it('the tags of a nested repository', async () => {
    const r = await fetch(`${base}/v2/deep/a/b/c/d/tags/list`);
    assert.deepEqual(await r.json(), { name: 'deep/a/b/c/d', tags: ['latest'] });
  });

  it('_catalog lists repositories with manifests in byte order', async () => {
    const r = await fetch(`${base}/v2/_catalog`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('link'), null);
    assert.deepEqual(await r.json(), { repositories: repos });
  });

  it('_catalog pagination with n, last and Link visits every repository once, in order', async () => {
    for (const n of [1, 2, 3]) {
      const { pages, links } = await paginate<string>(base, `/v2/_catalog?n=${n}`, 'repositories');
      assert.deepEqual(pages.flat(), repos, `n=${n}`);
      assert.ok(pages.every((p) => p.length <= n));
      assert.equal(links.length, Math.ceil(repos.length / n) - 1);
      assert.equal(links[0], `</v2/_catalog?n=${n}&last=${encodeURIComponent(repos[n - 1]!)}>; rel="next"`);
    }
    const r = await fetch(`${base}/v2/_catalog?last=${encodeURIComponent('tc/a.b')}`);
    assert.deepEqual(((await r.json()) as { repositories: string[] }).repositories, repos.filter((x) => byteOrder(x, 'tc/a.b') > 0));
  });

  it('_catalog with n=0 returns an empty list', async () => {
    const r = await fetch(`${base}/v2/_catalog?n=0`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { repositories: [] });
  });
});

describe('tags list and catalog on a database with a non-C default collation', () => {
  let reg: TestRegistry;
  let db: Awaited<ReturnType<typeof createIcuDatabase>>;
  // ICU en-US orders 'ab' before 'a_b' and ignores most punctuation; the API must still page in byte order.
  const repos = ['icu/a-b', 'icu/a.b', 'icu/a/b', 'icu/a_b', 'icu/ab', 'icu/a0', 'icu/aa'].sort(byteOrder);
  const tags = ['a-b', 'a.b', 'a_b', 'ab', 'a0', 'aa', 'A_', 'Ab'].sort(byteOrder);

  before(async () => {
    db = await createIcuDatabase();
    reg = await startTestRegistry({}, { db });
    for (const r of repos) {
      const i = await ociImage(reg.url, r, r);
      await putManifestOk(reg.url, r, 'latest', i.manifest, OCI_MANIFEST);
      if (r === repos[0]) for (const t of tags) await putManifestOk(reg.url, r, t, i.manifest, OCI_MANIFEST);
    }
  });
  after(async () => {
    await reg.stop();
    await db.drop();
  });

  it('_catalog pages visit every repository once, in byte order', async () => {
    for (const n of [1, 2]) {
      const { pages } = await paginate<string>(reg.url, `/v2/_catalog?n=${n}`, 'repositories');
      assert.deepEqual(pages.flat(), repos, `n=${n}`);
    }
  });

  it('tag pages visit every tag once, in byte order', async () => {
    const all = [...tags, 'latest'].sort(byteOrder);
    for (const n of [1, 3]) {
      const { pages } = await paginate<string>(reg.url, `/v2/${repos[0]}/tags/list?n=${n}`, 'tags');
      assert.deepEqual(pages.flat(), all, `n=${n}`);
    }
  });
});
