/** Audit: the log paged newest first and searchable, the chain status and the signed head. */
import type { ConsoleDeps, PageRequest } from '../context.js';
import { html, query, type SafeHtml } from '../html.js';
import { page, table } from '../layout.js';

const PER_PAGE = 50;

export function auditPage(deps: ConsoleDeps, req: PageRequest): SafeHtml {
  const q = req.query.q?.slice(0, 200) || undefined;
  const action = req.query.action?.slice(0, 100) || undefined;
  const beforeRaw = Number.parseInt(req.query.before ?? '', 10);
  const before = Number.isSafeInteger(beforeRaw) && beforeRaw > 0 ? beforeRaw : undefined;
  const { rows, more } = deps.read.audit({
    ...(before ? { before } : {}),
    ...(q ? { q } : {}),
    ...(action ? { action } : {}),
    limit: PER_PAGE,
  });
  const chain = deps.chain.status();
  const chainText = !chain.ok
    ? html`<strong class="error">Broken at entry ${chain.firstBad?.seq}: ${chain.firstBad?.reason}.</strong>`
    : chain.verifiedSeq < chain.newest
      ? html`Verifying: ${chain.verifiedSeq} of ${chain.newest} entries checked so far, no break found.`
      : html`<strong>Intact</strong>: all ${chain.newest} entries chain from the first.`;
  const signed = chain.signed
    ? html`Signed head: entry ${chain.signed.seq}, key ${chain.signed.keyId}, signature
      ${chain.signed.valid ? 'valid' : html`<strong>INVALID</strong>`}${
        chain.signed.matchesChain === false ? html`, <strong>does not match the chain</strong>` : ''
      };
      ${Math.max(0, chain.newest - chain.signed.seq)} entries after it unsigned.`
    : html`The head is not signed (set RAMPART_AUDIT_KEY on the writers to sign it).`;
  const oldest = rows.at(-1)?.seq;
  const body = html` <section class="notice" aria-label="Chain status">
      <p>Chain: ${chainText}</p>
      <p>${signed}</p>
    </section>
    <form class="filters" method="get" action="/audit" role="search" aria-label="Search the audit log">
      <label>Text <input type="search" name="q" value="${q ?? ''}" maxlength="200" /></label>
      <label>Action <input name="action" value="${action ?? ''}" list="actions" maxlength="100" /></label>
      <datalist id="actions">
        ${['register', 'tag', 'promote', 'rollback', 'train', 'evaluate', 'gate', 'risk.update', 'vuln.transition', 'review.decide'].map(
          (a) => html`<option value="${a}"></option>`,
        )}
      </datalist>
      <button type="submit">Search</button>
    </form>
    ${table(
      'Audit entries, newest first',
      ['Seq', 'When', 'Actor', 'Action', 'Subject', 'Details'],
      rows.map((e) => [
        e.seq,
        e.at.slice(0, 19).replace('T', ' '),
        e.actor,
        e.action,
        e.subject.length > 24 ? `${e.subject.slice(0, 24)}…` : e.subject,
        html`<pre>${JSON.stringify(e.details).slice(0, 300)}</pre>`,
      ]),
      'No entries match.',
    )}
    <nav class="pager" aria-label="Pages">
      ${before ? html`<a href="/audit${query({ q, action })}">Newest</a>` : ''}
      ${more && oldest !== undefined ? html`<a href="/audit${query({ q, action, before: oldest })}" rel="next">Older →</a>` : ''}
    </nav>`;
  return page({ title: 'Audit log', path: req.path, principal: req.principal, csrf: req.csrf }, body);
}
