/**
 * The widget's look, inside its Shadow DOM: the host page's CSS does not reach in, and this does not leak out.
 * Sizes are in em of the widget's own font, never rem: rem follows the host page's root font size.
 */
export const WIDGET_CSS = `
:host { all: initial; display: block; }
[hidden] { display: none !important; }
/* Font and colour are set here, not inherited from :host: a host page's "* { color: ... !important }" reaches the host element. */
section { font: 15px/1.4 system-ui, sans-serif; color: #1b1b1b; display: flex; flex-direction: column; gap: 0.5em; max-width: 20em; padding: 0.75em; border: 1px solid #c8c8c8; border-radius: 0.5em; background: #fff; }
button { font: inherit; padding: 0.4em 0.8em; border-radius: 0.4em; border: 1px solid #12355b; background: #fff; color: #12355b; cursor: pointer; }
button.call { background: #12355b; color: #fff; }
button.hangup { background: #a00000; border-color: #a00000; color: #fff; }
button:focus-visible { outline: 3px solid #f0a000; outline-offset: 2px; }
.keypad { display: grid; grid-template-columns: repeat(3, 3em); gap: 0.3em; }
.status { margin: 0; }
.status:empty, .error:empty { display: none; }
.error { margin: 0; color: #a00000; font-weight: bold; white-space: pre-wrap; }
.transcript { list-style: none; margin: 0; padding: 0; max-height: 12em; overflow-y: auto; }
.transcript:empty { display: none; }
.speaker { font-weight: bold; }
`;
