/* ofsted-qa browser front end: plain ES2020, no dependencies, no build step.
 *
 * Safety rule: every piece of text that comes from the server (answers,
 * report paragraphs, titles, error details) enters the page through
 * textContent / text nodes / setAttribute only. Nothing here parses HTML.
 */
(() => {
  'use strict';

  const MAX_QUESTION = 2000;
  const HISTORY_TURNS = 3;
  const NETWORK_MESSAGE = 'Cannot reach the server. Check your connection and try again.';
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

  // ---------------------------------------------------------------- pure helpers

  function parseDate(s) {
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(s || ''));
    return m && +m[2] >= 1 && +m[2] <= 12 ? { y: +m[1], m: +m[2], d: +m[3] } : null;
  }
  const monthYear = (s) => { const d = parseDate(s); return d ? `${MONTHS[d.m - 1]} ${d.y}` : ''; };
  const fullDate = (s) => { const d = parseDate(s); return d ? `${d.d} ${MONTHS[d.m - 1]} ${d.y}` : String(s || ''); };
  const sortedDates = (dates) => (Array.isArray(dates) ? dates.filter(Boolean).slice().sort() : []);
  const lastDate = (dates) => sortedDates(dates).pop() || '';
  const capitalise = (s) => (s ? String(s)[0].toUpperCase() + String(s).slice(1) : '');

  function dateRange(dates) {
    const list = sortedDates(dates);
    if (!list.length) return '';
    const a = fullDate(list[0]);
    const b = fullDate(list[list.length - 1]);
    return a === b ? a : `${a} – ${b}`;
  }

  function paraLabel(label) {
    const l = String(label ?? '');
    if (/^\d+$/.test(l)) return `para ${l}`;
    if (l === 'judgements') return 'judgement table';
    if (l === 'header') return 'title page';
    const improve = /^improve-(\d+)$/.exec(l);
    if (improve) return `what needs to improve ${improve[1]}`;
    return `para ${l}`;
  }

  function chipLabel(c) {
    const who = [c.local_authority, c.kind].filter(Boolean).join(' ');
    return [who, monthYear(lastDate(c.inspection_dates)), paraLabel(c.paragraph)].filter(Boolean).join(', ');
  }

  const citationKey = (c) => `${c.document_id}#${c.paragraph}`;

  function listJoin(items) {
    if (items.length <= 1) return items.join('');
    return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
  }

  function describeCoverage(cov) {
    if (!cov || !cov.reports) return 'Indexed: no reports yet.';
    const auths = Array.isArray(cov.authorities) ? cov.authorities : [];
    let text = `Indexed: ${cov.reports} report${cov.reports === 1 ? '' : 's'}`;
    if (auths.length) text += ` from ${auths.length <= 3 ? listJoin(auths) : `${auths.length} local authorities`}`;
    const from = monthYear(cov.earliest);
    const to = monthYear(cov.latest);
    if (from && to) text += from === to ? `, ${from}` : `, ${from} – ${to}`;
    const at = cov.indexed_at ? new Date(cov.indexed_at) : null;
    if (at && !isNaN(at)) text += `, as of ${at.getDate()} ${MONTHS[at.getMonth()]} ${at.getFullYear()}`;
    return `${text}.`;
  }

  function errorDetail(data, status) {
    const detail = data && data.detail;
    if (typeof detail === 'string' && detail) return detail;
    if (Array.isArray(detail) && detail.length) { // FastAPI validation errors
      return detail.map((d) => (d && d.msg) || String(d)).join('; ');
    }
    return status ? `The server could not answer (error ${status}).` : 'The server could not answer.';
  }

  function absoluteUrl(url, base) {
    try {
      const u = new URL(String(url), base);
      return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : '';
    } catch (e) {
      return '';
    }
  }

  /** The answer as the page shows it: the current position, then the history (older reports), one list. */
  function normaliseAnswer(body) {
    const b = body && typeof body === 'object' ? body : {};
    const list = (x) => (Array.isArray(x) ? x.filter((c) => c && typeof c === 'object') : []);
    const citations = list(b.citations);
    const offset = citations.length;
    const sentencesOf = (items, shift, earlier) => list(items).map((s) => ({
      text: String(s.text ?? ''),
      citations: Array.isArray(s.citations) ? s.citations.filter(Number.isInteger).map((k) => k + shift) : [],
      earlier: earlier || s.earlier === true,
      unsupported: typeof s.unsupported === 'string' ? s.unsupported : '',
    }));
    const sentences = sentencesOf(b.sentences, 0, false).concat(sentencesOf(b.earlier, offset, true));
    return {
      answer: String(b.answer ?? sentences.map((s) => s.text).join(' ')),
      answerable: b.answerable !== false,
      sentences,
      citations: citations.concat(list(b.earlier_citations)),
      closest: list(b.closest),
    };
  }

  /** Plain-text copy of an answer: the text, then one line per citation. */
  function copyText(answer, base) {
    const lines = [answer.answer.trim()];
    if (answer.citations.length) {
      lines.push('');
      answer.citations.forEach((c, i) => {
        const url = c.url ? absoluteUrl(c.url, base) || c.url : '';
        lines.push(`[${i + 1}] ${chipLabel(c)}${url ? ` — ${url}` : ''}`);
      });
    }
    return lines.join('\n');
  }

  /** Incremental server-sent-events parser: push() text chunks, end() at EOF. */
  function createSSEParser(onEvent) {
    let buffer = '';
    let event = 'message';
    let data = [];
    function line(l) {
      if (l === '') {
        if (data.length) onEvent(event, data.join('\n'));
        event = 'message';
        data = [];
        return;
      }
      if (l[0] === ':') return;
      const i = l.indexOf(':');
      const field = i < 0 ? l : l.slice(0, i);
      let value = i < 0 ? '' : l.slice(i + 1);
      if (value[0] === ' ') value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    return {
      push(chunk) {
        buffer += chunk;
        const lines = buffer.split(/\r?\n/);
        buffer = lines.pop();
        lines.forEach(line);
      },
      end() {
        if (buffer) line(buffer.replace(/\r$/, ''));
        buffer = '';
        line('');
      },
    };
  }

  /** Glossary: one regex over all terms and synonyms, longest first. */
  function buildGlossary(entries) {
    const byKey = new Map();
    for (const e of Array.isArray(entries) ? entries : []) {
      if (!e || typeof e.term !== 'string') continue;
      const words = [e.term, ...(Array.isArray(e.synonyms) ? e.synonyms : [])];
      for (const w of words) {
        if (typeof w !== 'string' || w.trim().length < 2) continue;
        const key = w.toLowerCase();
        if (!byKey.has(key)) byKey.set(key, { word: w, entry: e });
      }
    }
    if (!byKey.size) return null;
    const alternatives = [...byKey.values()]
      .map((v) => v.word)
      .sort((a, b) => b.length - a.length)
      .map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    const regex = new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives.join('|')})(?![\\p{L}\\p{N}])`, 'giu');
    return { regex, byKey };
  }

  const isAcronym = (w) => /\p{Lu}/u.test(w) && w === w.toUpperCase();

  /** Split text into plain parts and glossary hits; each term is marked once per `seen` set. */
  function splitGlossary(text, glossary, seen) {
    if (!glossary || !text) return [{ text }];
    const parts = [];
    let last = 0;
    glossary.regex.lastIndex = 0;
    let m;
    while ((m = glossary.regex.exec(text))) {
      const hit = glossary.byKey.get(m[0].toLowerCase());
      if (!hit || (isAcronym(hit.word) && m[0] !== hit.word) || (seen && seen.has(hit.entry.term))) continue;
      if (m.index > last) parts.push({ text: text.slice(last, m.index) });
      parts.push({ text: m[0], entry: hit.entry });
      if (seen) seen.add(hit.entry.term);
      last = m.index + m[0].length;
    }
    if (last < text.length) parts.push({ text: text.slice(last) });
    return parts;
  }

  function glossaryTip(entry) {
    const name = entry.expansion ? `${entry.term} (${entry.expansion})` : entry.term;
    return entry.meaning ? `${name}: ${entry.meaning}` : name;
  }

  const helpers = {
    paraLabel, chipLabel, monthYear, dateRange, describeCoverage, errorDetail, absoluteUrl,
    normaliseAnswer, copyText, createSSEParser, buildGlossary, splitGlossary, glossaryTip,
  };
  if (typeof module === 'object' && module.exports) module.exports = helpers; // for node unit tests
  if (typeof document === 'undefined') return;

  // ---------------------------------------------------------------- DOM helpers

  const $ = (id) => document.getElementById(id);
  const embedded = new URLSearchParams(location.search).get('embed') === '1';
  if (embedded) document.documentElement.classList.add('embed'); // inside the widget's iframe

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.className = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c !== null && c !== undefined && c !== false) node.append(c); // strings become text nodes
    }
    return node;
  }

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  async function request(path, options) {
    let res;
    try {
      res = await fetch(path, options);
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError(NETWORK_MESSAGE, 0);
    }
    let text = '';
    try {
      text = await res.text();
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError(NETWORK_MESSAGE, 0);
    }
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!res.ok) throw new ApiError(errorDetail(data, res.status), res.status);
    return data;
  }

  const getJSON = (path) => request(path, { headers: { Accept: 'application/json' } });
  const postJSON = (path, body, signal) => request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
    signal,
  });

  const statusEl = $('status');
  function announce(message) {
    statusEl.textContent = '';
    window.setTimeout(() => { statusEl.textContent = message; }, 60);
  }

  // ---------------------------------------------------------------- glossary

  let glossary = null;
  const glossaryIds = new Map();
  const tip = $('glossary-tip');
  let tipFor = null;

  function glossify(text, seen) {
    const frag = document.createDocumentFragment();
    for (const part of splitGlossary(String(text ?? ''), glossary, seen)) {
      if (!part.entry) {
        frag.append(document.createTextNode(part.text));
        continue;
      }
      const tipText = glossaryTip(part.entry);
      frag.append(el('span', {
        class: 'term', tabindex: '0', title: tipText, 'data-tip': tipText,
        'aria-describedby': glossaryIds.get(part.entry.term),
      }, part.text));
    }
    return frag;
  }

  async function loadGlossary() {
    try {
      const entries = await getJSON('/glossary');
      glossary = buildGlossary(entries);
      const box = $('glossary-descriptions');
      (Array.isArray(entries) ? entries : []).forEach((e, i) => {
        if (!e || typeof e.term !== 'string' || glossaryIds.has(e.term)) return;
        const id = `glossary-desc-${i}`;
        glossaryIds.set(e.term, id);
        box.append(el('span', { id }, glossaryTip(e)));
      });
    } catch (e) {
      glossary = null; // the page works without it
    }
  }

  function showTip(term) {
    const host = term.closest('dialog') || document.body; // a modal dialog sits in the top layer
    if (tip.parentNode !== host) host.append(tip);
    tip.textContent = term.getAttribute('data-tip') || '';
    tip.hidden = false;
    tipFor = term;
    const r = term.getBoundingClientRect();
    const left = Math.max(8, Math.min(r.left, window.innerWidth - tip.offsetWidth - 8));
    let top = r.bottom + 6;
    if (top + tip.offsetHeight > window.innerHeight - 8) top = r.top - tip.offsetHeight - 6;
    tip.style.left = `${left}px`;
    tip.style.top = `${Math.max(8, top)}px`;
  }

  function hideTip() {
    tip.hidden = true;
    tipFor = null;
  }

  const termOf = (node) => (node && node.closest ? node.closest('.term') : null);
  document.addEventListener('mouseover', (e) => { const t = termOf(e.target); if (t && t !== tipFor) showTip(t); });
  document.addEventListener('mouseout', (e) => {
    const t = termOf(e.target);
    if (t && t === tipFor && !t.contains(e.relatedTarget) && document.activeElement !== t) hideTip();
  });
  document.addEventListener('focusin', (e) => { const t = termOf(e.target); if (t) showTip(t); else if (tipFor) hideTip(); });
  document.addEventListener('focusout', (e) => { if (e.target === tipFor) hideTip(); });
  window.addEventListener('scroll', () => { if (tipFor) hideTip(); }, true);

  // ---------------------------------------------------------------- paragraph dialog

  const dialog = $('paragraph-dialog');
  let dialogOpener = null;
  let dialogToken = 0;

  function fillDialog(c) {
    $('paragraph-title').textContent = c.title || chipLabel(c);
    const rows = [
      ['Local authority', c.local_authority],
      ['Kind', capitalise(c.kind)],
      ['Inspection dates', dateRange(c.inspection_dates)],
      ['Section', c.section],
      ['Page', c.page ?? ''],
      ['Paragraph', paraLabel(c.paragraph)],
    ];
    $('paragraph-meta').replaceChildren(...rows
      .filter(([, v]) => v !== '' && v !== null && v !== undefined)
      .flatMap(([k, v]) => [el('dt', null, k), el('dd', null, String(v))]));
    $('paragraph-text').replaceChildren(glossify(c.text || '', new Set()));

    const link = $('paragraph-link');
    const href = c.url ? absoluteUrl(c.url, location.href) : '';
    link.hidden = !href;
    if (href) link.href = href; else link.removeAttribute('href');

    const pdf = $('pdf-link');
    const pdfHref = c.pdf_url ? absoluteUrl(c.pdf_url, location.href) : '';
    const pageMatch = /#page=(\d+)/.exec(String(c.pdf_url || ''));
    const page = Number.isInteger(c.page) ? c.page : pageMatch ? +pageMatch[1] : null;
    pdf.hidden = !pdfHref;
    if (pdfHref) {
      pdf.href = pdfHref;
      pdf.textContent = page ? `Open the PDF at page ${page}` : 'Open the PDF';
    } else {
      pdf.removeAttribute('href');
    }
  }

  function openParagraph(c, opener) {
    dialogOpener = opener;
    const token = ++dialogToken;
    fillDialog(c);
    if (!dialog.open) {
      if (typeof dialog.showModal === 'function') dialog.showModal();
      else dialog.setAttribute('open', '');
    }
    $('paragraph-close').focus();
    if (!c.text && c.url) { // a citation without its text: fetch the paragraph itself
      getJSON(c.url)
        .then((full) => { if (token === dialogToken && dialog.open) fillDialog({ ...c, ...full }); })
        .catch((e) => {
          if (token !== dialogToken) return;
          $('paragraph-text').replaceChildren(el('span', { class: 'error' }, `Could not load this paragraph: ${e.message}`));
        });
    }
  }

  function closeDialog() {
    if (typeof dialog.close === 'function' && dialog.open) dialog.close();
    else { dialog.removeAttribute('open'); onDialogClosed(); }
  }

  function onDialogClosed() {
    hideTip();
    dialogToken++;
    const target = dialogOpener && dialogOpener.isConnected ? dialogOpener : $('question');
    dialogOpener = null;
    target.focus();
  }

  $('paragraph-close').addEventListener('click', closeDialog);
  dialog.addEventListener('close', onDialogClosed);
  dialog.addEventListener('click', (e) => { if (e.target === dialog) closeDialog(); }); // backdrop
  // Escape is handled by <dialog> itself (its cancel event), which then fires 'close'.

  // ---------------------------------------------------------------- chips and feedback

  function makeChip(c, opts = {}) {
    const label = chipLabel(c);
    const chip = el('button', {
      type: 'button',
      class: opts.related ? 'chip chip-related' : 'chip',
      'data-document-id': c.document_id,
      'data-paragraph': c.paragraph,
      'aria-haspopup': 'dialog',
    }, label);
    chip.addEventListener('click', () => openParagraph(c, chip));
    if (!opts.feedback) return chip;
    const fb = el('button', { type: 'button', class: 'feedback', 'aria-label': `Wrong citation? Report ${label}` }, 'wrong citation?');
    fb.addEventListener('click', () => sendFeedback(fb, c, opts.feedback));
    return el('span', { class: 'chip-wrap' }, chip, fb);
  }

  async function sendFeedback(button, c, context) {
    if (button.dataset.state === 'sending' || button.dataset.state === 'sent') return;
    button.dataset.state = 'sending';
    try {
      await postJSON('/feedback', {
        question: context.question,
        answer: context.answer(),
        citation: { document_id: c.document_id, paragraph: c.paragraph },
        verdict: 'wrong_citation',
      });
      button.dataset.state = 'sent';
      button.textContent = 'Thanks, recorded';
      button.removeAttribute('aria-label');
      button.setAttribute('aria-disabled', 'true');
      announce('Thanks, recorded');
    } catch (e) {
      button.dataset.state = '';
      button.textContent = 'not recorded, retry?';
      announce(`Feedback not recorded: ${e.message}`);
    }
  }

  // ---------------------------------------------------------------- clipboard

  async function copyToClipboard(text) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        return true;
      }
    } catch (e) { /* fall through to the textarea */ }
    const active = document.activeElement;
    const area = el('textarea', { class: 'copy-buffer', readonly: true, 'aria-hidden': 'true', tabindex: '-1' });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    area.remove();
    if (active && active.focus) active.focus();
    return ok;
  }

  // ---------------------------------------------------------------- answers

  const messages = $('messages');
  const emptyHint = messages.querySelector('.empty-hint');

  function sentenceKey(text, cits) {
    return JSON.stringify([text, cits.map(citationKey)]);
  }

  /** One question + answer in the conversation; returns the methods the ask flow drives. */
  function createAnswerView(question) {
    if (emptyHint.isConnected) emptyHint.remove();
    const answerEl = el('div', { class: 'answer' });
    const pending = el('p', { class: 'pending' }, 'Searching the reports…');
    const bodyEl = el('p', { class: 'answer-body' });
    answerEl.append(pending, bodyEl);
    const turn = el('div', { class: 'turn' },
      el('p', { class: 'user-question' }, el('span', { class: 'who' }, 'You asked: '), question),
      answerEl);
    messages.append(turn);
    turn.scrollIntoView({ block: 'nearest' });

    const seen = new Set();
    let wraps = [];
    let final = null;
    const feedback = {
      question,
      answer: () => (final ? final.answer : [...bodyEl.querySelectorAll('.sentence')].map((s) => s.textContent).join(' ')),
    };

    function sentenceNode(text, cits, withChips, earlier, unsupported) {
      const sentence = el('span', { class: 'sentence' });
      sentence.append(glossify(text, seen));
      const chips = withChips && cits.length
        ? el('span', { class: 'cites' }, cits.map((c) => makeChip(c, { feedback })))
        : null;
      // an older report than the latest one cited: history, not the current position
      const tag = earlier ? el('span', { class: 'earlier-tag' }, 'Earlier report: ') : null;
      // a generated sentence its cited paragraphs do not support, shown only when the server flags rather than drops
      const flag = unsupported
        ? el('span', { class: 'unsupported-tag', title: unsupported }, 'Not supported by the cited paragraphs: ')
        : null;
      const key = sentenceKey(text, cits) + (earlier ? '|earlier' : '') + (unsupported ? '|unsupported' : '');
      const cls = 'sentence-wrap' + (earlier ? ' earlier' : '') + (unsupported ? ' unsupported' : '');
      return el('span', { class: cls, 'data-key': key }, tag, flag, sentence, chips, ' ');
    }

    return {
      addSentence(data) {
        if (!data || typeof data.text !== 'string') return;
        pending.remove();
        const cits = Array.isArray(data.citations) ? data.citations.filter((c) => c && typeof c === 'object') : [];
        const index = Number.isInteger(data.index) && data.index >= 0 ? data.index : wraps.length;
        const unsupported = typeof data.unsupported === 'string' ? data.unsupported : '';
        const node = sentenceNode(data.text, cits, true, data.earlier === true, unsupported);
        if (wraps[index]) wraps[index].replaceWith(node);
        else bodyEl.append(node);
        wraps[index] = node;
      },

      withdraw() {
        bodyEl.replaceChildren(); // streamed sentences of a generation that then failed are never left shown
        wraps = [];
      },

      finish(body) {
        final = normaliseAnswer(body);
        pending.remove();
        const sentences = final.sentences.length ? final.sentences
          : final.answer ? [{ text: final.answer, citations: [] }] : [];
        // Reconcile with what was streamed: keep identical sentences, replace the rest.
        const nodes = sentences.map((s, i) => {
          const cits = s.citations.map((k) => final.citations[k]).filter(Boolean);
          const old = wraps[i];
          const key = sentenceKey(s.text, cits) + (s.earlier ? '|earlier' : '') + (s.unsupported ? '|unsupported' : '');
          return old && old.dataset.key === key ? old : sentenceNode(s.text, cits, true, s.earlier, s.unsupported);
        });
        if (nodes.length !== bodyEl.children.length || nodes.some((n, i) => bodyEl.children[i] !== n)) {
          bodyEl.replaceChildren(...nodes);
        }
        wraps = nodes;

        const used = new Set(sentences.flatMap((s) => s.citations));
        const extra = final.citations.filter((c, i) => !used.has(i));
        if (extra.length) {
          answerEl.append(el('p', { class: 'also-cited' }, 'Also cited: ', extra.map((c) => makeChip(c, { feedback }))));
        }

        if (!final.answerable && final.closest.length) {
          const local = new Set();
          answerEl.append(el('section', { class: 'closest', 'aria-label': 'Related, but not an answer' },
            el('h3', null, 'Related, but not an answer'),
            el('p', { class: 'hint' }, 'These passages are near the topic but do not answer the question.'),
            el('ul', null, final.closest.map((c) => {
              const text = String(c.text || '');
              const snippet = text.length > 240 ? `${text.slice(0, 240).trimEnd()}…` : text;
              const p = el('p', { class: 'snippet' });
              p.append(glossify(snippet, local));
              return el('li', null, makeChip(c, { related: true }), p);
            }))));
        }

        const copy = el('button', { type: 'button', class: 'copy-answer' }, 'Copy answer');
        copy.addEventListener('click', async () => {
          const ok = await copyToClipboard(copyText(final, location.href));
          copy.textContent = ok ? 'Copied' : 'Copy failed';
          announce(ok ? 'Answer copied' : 'Could not copy the answer');
          window.setTimeout(() => { copy.textContent = 'Copy answer'; }, 2000);
        });
        answerEl.append(el('div', { class: 'answer-actions' }, copy));
        answerEl.dataset.answerable = String(final.answerable);
        answerEl.dataset.done = 'true';
        return final;
      },

      fail(message) {
        pending.remove();
        bodyEl.replaceChildren(); // never leave half an unverified answer behind
        wraps = [];
        answerEl.append(el('p', { class: 'error' }, message || NETWORK_MESSAGE));
        answerEl.dataset.error = 'true';
        answerEl.dataset.done = 'true';
      },
    };
  }

  /** Streams /ask/stream into `view`. Returns the `done` body, or null when the caller should fall back to /ask. */
  async function streamAnswer(payload, view, signal) {
    let res;
    try {
      res = await fetch('/ask/stream', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
        body: JSON.stringify(payload),
        signal,
      });
    } catch (e) {
      if (signal.aborted) throw e;
      return null;
    }
    if (!res.ok) {
      if (res.status >= 500 || res.status === 404 || res.status === 405) return null;
      let data = null;
      try { data = await res.json(); } catch (e) { data = null; }
      throw new ApiError(errorDetail(data, res.status), res.status);
    }
    if (!res.body || !(res.headers.get('content-type') || '').includes('text/event-stream')) {
      if (res.body) res.body.cancel().catch(() => {});
      return null;
    }

    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let done = null;
    let failure = null;
    const parser = createSSEParser((event, data) => {
      if (done || failure) return;
      let payloadData;
      try { payloadData = JSON.parse(data); } catch (e) { return; }
      if (event === 'sentence') view.addSentence(payloadData);
      else if (event === 'fallback') view.withdraw(); // generation failed: the extractive answer follows
      else if (event === 'done') done = payloadData;
      else if (event === 'error') failure = new ApiError(errorDetail(payloadData, 0), 0);
    });
    try {
      for (;;) {
        const { value, done: finished } = await reader.read();
        if (finished) break;
        parser.push(decoder.decode(value, { stream: true }));
        if (done || failure) break;
      }
      parser.push(decoder.decode());
      parser.end();
    } catch (e) {
      if (signal.aborted) throw e;
      // A broken stream: fall back to /ask below unless it already finished.
    }
    if (done || failure) reader.cancel().catch(() => {});
    if (failure) throw failure;
    return done && typeof done === 'object' ? done : null;
  }

  // ---------------------------------------------------------------- filters

  const filterInputs = {
    local_authority: $('filter-authority'),
    kind: $('filter-kind'),
    since: $('filter-since'),
    until: $('filter-until'),
  };

  function readFilters() {
    const filters = {};
    for (const [key, input] of Object.entries(filterInputs)) {
      const value = input.value.trim();
      if (value) filters[key] = value;
    }
    return filters;
  }

  function updateFilterCount() {
    const n = Object.keys(readFilters()).length;
    $('filter-count').textContent = n ? `(${n} active)` : '';
  }

  Object.values(filterInputs).forEach((input) => {
    input.addEventListener('input', updateFilterCount);
    input.addEventListener('change', updateFilterCount);
  });
  $('filters-clear').addEventListener('click', () => {
    Object.values(filterInputs).forEach((input) => { input.value = ''; });
    updateFilterCount();
    announce('Filters cleared');
  });

  // ---------------------------------------------------------------- the chat

  const form = $('ask-form');
  const questionInput = $('question');
  const askButton = $('ask');
  const counter = $('question-count');
  let turns = [];
  let busy = false;
  let generation = 0;
  let inFlight = null;

  function updateCount() {
    const n = questionInput.value.length;
    counter.textContent = `${n} / ${MAX_QUESTION}`;
    counter.classList.toggle('near-limit', n > MAX_QUESTION - 100);
  }

  function setBusy(value) {
    busy = value;
    askButton.setAttribute('aria-disabled', String(value));
    askButton.textContent = value ? 'Sending…' : 'Send';
  }

  function composerError(message) {
    const old = form.querySelector('.composer-error');
    if (old) old.remove();
    if (message) form.insertBefore(el('p', { class: 'error composer-error', role: 'alert' }, message), form.querySelector('.composer-actions'));
  }

  async function ask() {
    if (busy) return;
    const question = questionInput.value.trim();
    composerError('');
    if (!question) {
      composerError('Type a question first.');
      questionInput.focus();
      return;
    }
    const payload = { question, history: turns.slice(-HISTORY_TURNS), filters: readFilters() };
    const gen = generation;
    const controller = new AbortController();
    inFlight = controller;
    setBusy(true);
    questionInput.value = '';
    updateCount();
    const view = createAnswerView(question);
    try {
      let body = await streamAnswer(payload, view, controller.signal);
      if (!body) body = await postJSON('/ask', payload, controller.signal);
      if (gen !== generation) return;
      if (!body || typeof body !== 'object') throw new ApiError('The server sent an empty reply.', 0);
      const final = view.finish(body);
      turns.push({
        question,
        answer: final.answer,
        citations: final.citations.map((c) => ({ document_id: c.document_id, paragraph: c.paragraph })),
      });
    } catch (e) {
      if (gen !== generation || controller.signal.aborted) return;
      view.fail(e instanceof ApiError ? e.message : 'Something went wrong while showing the answer. Please try again.');
      if (!questionInput.value) { questionInput.value = question; updateCount(); }
    } finally {
      if (gen === generation) setBusy(false);
      if (inFlight === controller) inFlight = null;
    }
  }

  form.addEventListener('submit', (e) => { e.preventDefault(); ask(); });
  questionInput.addEventListener('input', updateCount);
  questionInput.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      ask();
    }
  });

  $('new-conversation').addEventListener('click', () => {
    if (inFlight) inFlight.abort();
    inFlight = null;
    generation++;
    turns = [];
    messages.replaceChildren(emptyHint);
    composerError('');
    setBusy(false);
    questionInput.focus();
    announce('New conversation started');
  });

  // ---------------------------------------------------------------- findings

  const findingsResults = $('findings-results');
  let findingsBusy = false;

  function renderReport(report) {
    const seen = new Set();
    const meta = [capitalise(report.kind), dateRange(report.inspection_dates),
      report.published ? `published ${fullDate(report.published)}` : ''].filter(Boolean).join(' · ');
    const grades = report.grades && typeof report.grades === 'object' ? Object.entries(report.grades) : [];
    const summary = el('p', { class: 'summary' });
    summary.append(glossify(report.summary || '', seen));
    const paragraphs = (Array.isArray(report.paragraphs) ? report.paragraphs : []).filter((c) => c && typeof c === 'object');
    return el('article', { class: 'finding-report', 'data-document-id': report.document_id },
      el('h4', null, report.title || String(report.document_id || 'Report')),
      meta ? el('p', { class: 'report-meta' }, meta) : null,
      grades.length ? el('dl', { class: 'grades' }, grades.flatMap(([area, grade]) => [el('dt', null, area), el('dd', null, String(grade))])) : null,
      report.summary ? summary : null,
      paragraphs.length ? el('ul', { class: 'finding-paragraphs' }, paragraphs.map((c) => {
        const text = el('p', { class: 'para-text' });
        text.append(glossify(c.text || '', seen));
        return el('li', null, makeChip(c), text);
      })) : null);
  }

  function renderFindings(data, topic) {
    const groups = (data && Array.isArray(data.groups) ? data.groups : [])
      .filter((g) => g && Array.isArray(g.reports) && g.reports.length)
      .sort((a, b) => String(a.local_authority || '').localeCompare(String(b.local_authority || '')));
    if (!groups.length) {
      findingsResults.replaceChildren(el('p', { class: 'empty' }, `No findings about “${topic}” in the indexed reports.`));
      announce('No findings found');
      return;
    }
    const reportDate = (r) => lastDate(r.inspection_dates) || String(r.published || '');
    const count = groups.reduce((n, g) => n + g.reports.length, 0);
    const summary = `${count} report${count === 1 ? '' : 's'} from ${groups.length} local authorit${groups.length === 1 ? 'y' : 'ies'} mention “${(data && data.topic) || topic}”.`;
    findingsResults.replaceChildren(
      el('p', { class: 'findings-summary' }, summary),
      ...groups.map((g) => el('section', { class: 'finding-group' },
        el('h3', null, g.local_authority || 'Unknown local authority'),
        g.reports.filter((r) => r && typeof r === 'object')
          .slice().sort((a, b) => reportDate(a).localeCompare(reportDate(b)))
          .map(renderReport))));
    announce(summary);
  }

  $('findings-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    if (findingsBusy) return;
    const topic = $('topic').value.trim();
    if (!topic) {
      findingsResults.replaceChildren(el('p', { class: 'error', role: 'alert' }, 'Type a topic first.'));
      $('topic').focus();
      return;
    }
    findingsBusy = true;
    $('findings-submit').setAttribute('aria-disabled', 'true');
    findingsResults.setAttribute('aria-busy', 'true');
    findingsResults.replaceChildren(el('p', { class: 'pending' }, 'Looking for findings…'));
    try {
      renderFindings(await postJSON('/findings', { topic, ...readFilters() }), topic);
    } catch (err) {
      const message = err instanceof ApiError && (err.status === 404 || err.status === 405)
        ? 'Findings are not available on this server'
        : err instanceof ApiError ? err.message : 'Something went wrong while showing the findings.';
      findingsResults.replaceChildren(el('p', { class: 'error', role: 'alert' }, message));
    } finally {
      findingsBusy = false;
      $('findings-submit').removeAttribute('aria-disabled');
      findingsResults.removeAttribute('aria-busy');
    }
  });

  // ---------------------------------------------------------------- tabs

  const tabs = [$('tab-chat'), $('tab-findings')];
  function selectTab(tab, focus) {
    for (const t of tabs) {
      const selected = t === tab;
      t.setAttribute('aria-selected', String(selected));
      t.tabIndex = selected ? 0 : -1;
      $(t.getAttribute('aria-controls')).hidden = !selected;
    }
    if (focus) tab.focus();
  }
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => selectTab(tab, false));
    tab.addEventListener('keydown', (e) => {
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (next === undefined) return;
      e.preventDefault();
      selectTab(tabs[(next + tabs.length) % tabs.length], true);
    });
  });

  // ---------------------------------------------------------------- embedding and global keys

  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    if (tipFor) { hideTip(); e.preventDefault(); return; } // first Escape dismisses a glossary tooltip
    if (embedded && !dialog.open && window.parent !== window) {
      window.parent.postMessage({ type: 'ofsted-qa:close' }, '*'); // the widget closes its panel
    }
  });
  window.addEventListener('message', (e) => {
    if (embedded && e.source === window.parent && e.data && e.data.type === 'ofsted-qa:focus') questionInput.focus();
  });

  // ---------------------------------------------------------------- start-up

  async function loadCoverage() {
    const line = $('coverage');
    try {
      const cov = await getJSON('/coverage');
      line.textContent = describeCoverage(cov);
      const list = $('authority-list');
      (cov && Array.isArray(cov.authorities) ? cov.authorities : [])
        .forEach((a) => list.append(el('option', { value: a })));
    } catch (e) {
      line.textContent = `Coverage unavailable: ${e.message}`;
    }
  }

  updateCount();
  updateFilterCount();
  setBusy(false);
  loadCoverage();
  loadGlossary();
})();
