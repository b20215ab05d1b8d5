// A tiny element builder: no framework, no innerHTML (text is always set as text, so nothing
// a camera or server sends can become markup).

/**
 * @param {string} tag
 * @param {object} [props] attributes; `text` sets textContent, `on*` functions add listeners,
 *   `dataset` sets data-* attributes
 * @param {...(Node|string|null)} children
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) el.append(child);
  }
  return el;
}

export const byId = (id) => document.getElementById(id);

/** Shows or hides an element (the `hidden` attribute, which CSS and screen readers honour). */
export function show(el, visible) {
  el.hidden = !visible;
}
