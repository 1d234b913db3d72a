/** The widget's look, inside its Shadow DOM: the host page's CSS does not reach in, and this does not leak out. */
export const WIDGET_CSS = `
:host { all: initial; display: block; }
[hidden] { display: none !important; }
/* Font and colour are set here, not inherited from :host: a host page's "* { color: ... !important }" reaches the host element. */
section { font: 15px/1.4 system-ui, sans-serif; color: #1b1b1b; display: flex; flex-direction: column; gap: 0.5rem; max-width: 20rem; padding: 0.75rem; border: 1px solid #c8c8c8; border-radius: 0.5rem; background: #fff; }
button { font: inherit; padding: 0.4rem 0.8rem; border-radius: 0.4rem; border: 1px solid #12355b; background: #fff; color: #12355b; cursor: pointer; }
button.call { background: #12355b; color: #fff; }
button.hangup { background: #a00000; border-color: #a00000; color: #fff; }
button:focus-visible { outline: 3px solid #f0a000; outline-offset: 2px; }
.keypad { display: grid; grid-template-columns: repeat(3, 3rem); gap: 0.3rem; }
.status { margin: 0; }
.status:empty, .error:empty { display: none; }
.error { margin: 0; color: #a00000; font-weight: bold; white-space: pre-wrap; }
.transcript { list-style: none; margin: 0; padding: 0; max-height: 12rem; overflow-y: auto; }
.transcript:empty { display: none; }
.speaker { font-weight: bold; }
`;
