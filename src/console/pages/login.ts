/** Sign in with an API key (the same keys file as `rampart serve`). */
import { html, type SafeHtml } from '../html.js';
import { page } from '../layout.js';

export function loginPage(next: string | undefined): SafeHtml {
  const safeNext = next && /^\/[a-z0-9/_-]*$/i.test(next) ? next : '/';
  return page(
    { title: 'Sign in', path: '/login' },
    html`<form method="post" action="/login" aria-label="Sign in">
      <p>
        Paste an API key with the <strong>operator</strong> role (read) or <strong>admin</strong> role (change). Create one with
        <code>rampart keys add --file keys.json --role operator</code>.
      </p>
      <p><label for="key">API key</label><br /><input id="key" name="key" type="password" autocomplete="off" size="60" required /></p>
      <input type="hidden" name="next" value="${safeNext}" />
      <button type="submit">Sign in</button>
    </form>`,
  );
}
