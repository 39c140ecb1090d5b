/** The page shell every console page shares: navigation, who is signed in, assets. */
import type { Principal } from '../serve/auth.js';
import { html, type HtmlValue, type SafeHtml } from './html.js';

const NAV: ReadonlyArray<[string, string]> = [
  ['/', 'Overview'],
  ['/runs', 'Runs'],
  ['/models', 'Models'],
  ['/risks', 'Risks'],
  ['/monitor', 'Monitor'],
  ['/review', 'Review'],
  ['/audit', 'Audit'],
];

export interface ShellOptions {
  title: string;
  /** The path of the page, to mark its link current. */
  path: string;
  principal?: Principal;
  csrf?: string;
  /** Pages with charts load uPlot. */
  charts?: boolean;
  /** Links hidden for pages that do not exist in this build (e.g. review without the review library). */
  hide?: readonly string[];
}

/** A full HTML document around `body`. */
export function page(options: ShellOptions, body: HtmlValue): SafeHtml {
  const nav = NAV.filter(([href]) => !options.hide?.includes(href)).map(([href, label]) => {
    const current = href === '/' ? options.path === '/' : options.path.startsWith(href);
    return html`<li><a href="${href}" ${current ? html` aria-current="page"` : ''}>${label}</a></li>`;
  });
  const who = options.principal
    ? html`<div class="who">
        <span>${options.principal.name ?? options.principal.keyId} · ${options.principal.role}</span>
        <form method="post" action="/logout">
          <input type="hidden" name="csrf" value="${options.csrf ?? ''}" /> <button type="submit" class="link">Sign out</button>
        </form>
      </div>`
    : '';
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${options.title} · Rampart console</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/assets/console.css" />
        ${options.charts ? html`<link rel="stylesheet" href="/assets/uPlot.min.css" />` : ''}
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <span class="brand">Rampart</span>
          ${
            options.principal
              ? html`<nav aria-label="Main">
                  <ul>
                    ${nav}
                  </ul>
                </nav>`
              : ''
          }
          ${who}
        </header>
        <main id="main">
          <h1>${options.title}</h1>
          ${body}
        </main>
        ${options.charts ? html`<script src="/assets/uPlot.iife.min.js"></script>` : ''}
        <script src="/assets/console.js"></script>
      </body>
    </html>`;
}

/** A small table from header labels and rows of cells. */
export function table(
  caption: string,
  headers: readonly HtmlValue[],
  rows: readonly (readonly HtmlValue[])[],
  empty = 'Nothing yet.',
): SafeHtml {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<table>
    <caption>
      ${caption}
    </caption>
    <thead>
      <tr>
        ${headers.map((h) => html`<th scope="col">${h}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        (r) =>
          html`<tr>
            ${r.map((c) => html`<td>${c}</td>`)}
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** A pass/fail badge with text (never colour alone). */
export function badge(ok: boolean | null, yes = 'passed', no = 'failed'): SafeHtml {
  if (ok === null) return html`<span class="badge">—</span>`;
  return ok ? html`<span class="badge ok">${yes}</span>` : html`<span class="badge bad">${no}</span>`;
}

/** A hidden CSRF field for a form. */
export function csrfField(csrf: string): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${csrf}" />`;
}
