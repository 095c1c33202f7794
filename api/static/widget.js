/* ofsted-qa embeddable widget.
 *
 *   <script src="http://host:8000/widget.js" data-api="http://host:8000"></script>
 *
 * Adds a round "Ask Ofsted reports" button (bottom right) that opens a panel
 * holding the chat page in an iframe (`${api}/?embed=1`), so every API call
 * stays same-origin inside the iframe and the host page needs nothing else.
 */
(() => {
  'use strict';
  if (document.getElementById('ofsted-qa-launcher')) return; // included twice

  const script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  const TITLE = 'Ask Ofsted reports';

  function apiBase() {
    const given = script && script.getAttribute('data-api');
    if (given) {
      try {
        const url = new URL(given, location.href); // may carry a path prefix
        if (url.protocol === 'http:' || url.protocol === 'https:') return url.href.replace(/[?#].*$/, '').replace(/\/+$/, '');
      } catch (e) { /* fall back to the script's own origin */ }
    }
    try {
      if (script && script.src) return new URL(script.src, location.href).origin;
    } catch (e) { /* fall through */ }
    return location.origin;
  }
  const api = apiBase();
  const apiOrigin = new URL(api, location.href).origin;

  const css = `
#ofsted-qa-launcher {
  position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
  width: 60px; height: 60px; margin: 0; padding: 0;
  display: flex; align-items: center; justify-content: center;
  border: 2px solid #fff; border-radius: 50%;
  background: #1d70b8; color: #fff; cursor: pointer;
  box-shadow: 0 4px 14px rgba(0, 0, 0, 0.35);
}
#ofsted-qa-launcher:hover { background: #003078; }
#ofsted-qa-launcher:focus-visible, #ofsted-qa-panel .ofsted-qa-close:focus-visible {
  outline: 3px solid #0b0c0c; outline-offset: 1px; box-shadow: 0 0 0 6px #ffdd00;
}
#ofsted-qa-launcher svg { width: 30px; height: 30px; display: block; }
#ofsted-qa-panel {
  position: fixed; right: 20px; bottom: 92px; z-index: 2147483000;
  width: min(420px, calc(100vw - 24px)); height: min(640px, calc(100vh - 112px));
  display: flex; flex-direction: column; overflow: hidden;
  background: #fff; color: #0b0c0c; border: 1px solid #b1b4b6; border-radius: 8px;
  box-shadow: 0 10px 40px rgba(0, 0, 0, 0.35);
  font: 16px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
#ofsted-qa-panel[hidden] { display: none !important; }
#ofsted-qa-panel .ofsted-qa-bar {
  display: flex; align-items: center; justify-content: space-between; gap: 8px;
  padding: 6px 8px 6px 14px; background: #1d70b8; color: #fff;
}
#ofsted-qa-panel .ofsted-qa-title { font-weight: 600; font-size: 16px; margin: 0; }
#ofsted-qa-panel .ofsted-qa-close {
  margin: 0; padding: 4px 10px; font: inherit; font-size: 14px; cursor: pointer;
  background: #fff; color: #003078; border: 0; border-radius: 4px;
}
#ofsted-qa-panel .ofsted-qa-frame { flex: 1; width: 100%; border: 0; display: block; background: #fff; }
@media (max-width: 480px) {
  #ofsted-qa-panel { right: 12px; left: 12px; width: auto; bottom: 84px; height: calc(100vh - 100px); }
  #ofsted-qa-launcher { right: 12px; bottom: 12px; }
}`;

  function icon() {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('fill', 'currentColor');
    // A speech bubble with a question mark.
    path.setAttribute('d', 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm8 3.2c-1.9 0-3.2 1.1-3.3 2.8h1.9c.1-.7.6-1.1 1.4-1.1.8 0 1.3.4 1.3 1 0 .5-.2.8-1 1.3-1 .6-1.4 1.2-1.3 2.3v.5h1.8v-.4c0-.6.2-.9 1-1.4.9-.6 1.4-1.2 1.4-2.2 0-1.7-1.3-2.8-3.2-2.8zm-.9 7.6v1.9h1.9v-1.9z');
    svg.append(path);
    return svg;
  }

  function init() {
    const style = document.createElement('style');
    style.id = 'ofsted-qa-style';
    style.textContent = css;
    document.head.append(style);

    const launcher = document.createElement('button');
    launcher.type = 'button';
    launcher.id = 'ofsted-qa-launcher';
    launcher.title = TITLE;
    launcher.setAttribute('aria-label', TITLE);
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-controls', 'ofsted-qa-panel');
    launcher.append(icon());

    const panel = document.createElement('div');
    panel.id = 'ofsted-qa-panel';
    panel.hidden = true;
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-label', TITLE);

    const bar = document.createElement('div');
    bar.className = 'ofsted-qa-bar';
    const title = document.createElement('p');
    title.className = 'ofsted-qa-title';
    title.textContent = TITLE;
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'ofsted-qa-close';
    close.textContent = 'Close';
    close.setAttribute('aria-label', `Close ${TITLE}`);
    bar.append(title, close);
    panel.append(bar);

    let frame = null;
    const focusChat = () => {
      if (frame && frame.contentWindow) frame.contentWindow.postMessage({ type: 'ofsted-qa:focus' }, apiOrigin);
    };

    function open() {
      if (!frame) { // created on first open so the host page loads nothing extra until needed
        frame = document.createElement('iframe');
        frame.className = 'ofsted-qa-frame';
        frame.title = TITLE;
        frame.src = `${api}/?embed=1`;
        frame.setAttribute('allow', 'clipboard-write');
        frame.addEventListener('load', () => { if (!panel.hidden) focusChat(); });
        panel.append(frame);
      }
      panel.hidden = false;
      launcher.setAttribute('aria-expanded', 'true');
      frame.focus();
      focusChat();
    }

    function hide() {
      if (panel.hidden) return;
      panel.hidden = true;
      launcher.setAttribute('aria-expanded', 'false');
      launcher.focus();
    }

    launcher.addEventListener('click', () => (panel.hidden ? open() : hide()));
    close.addEventListener('click', hide);
    panel.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.preventDefault(); hide(); } });
    launcher.addEventListener('keydown', (e) => { if (e.key === 'Escape') hide(); });
    // Escape pressed inside the iframe arrives as a message from the chat page.
    window.addEventListener('message', (e) => {
      if (frame && e.source === frame.contentWindow && e.origin === apiOrigin &&
          e.data && e.data.type === 'ofsted-qa:close') hide();
    });

    document.body.append(launcher, panel); // launcher first: Tab moves from it into the panel
  }

  if (document.body) init();
  else document.addEventListener('DOMContentLoaded', init);
})();
