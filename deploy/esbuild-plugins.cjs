// esbuild plugins of the functions' bundles (serverless.yml custom.esbuild.plugins).
//   virtual:gallery-page  the gallery (web/): its TypeScript bundled and minified, its style sheet
//                         minified, each named by a hash of its content, and the HTML page that
//                         names them, as one module the gallery function serves from memory. The
//                         page is built with the function, so a deployed stack and `npm start`
//                         serve what web/ holds, with no build step of its own to forget.
// buildGalleryPage is exported too, for the tests and the size report.
'use strict';

const { createHash } = require('node:crypto');
const { readFile } = require('node:fs/promises');
const path = require('node:path');

const WEB = path.resolve(__dirname, '../web');
const VIRTUAL = /^virtual:gallery-page$/;

const contentName = (stem, extension, text) => `${stem}-${createHash('sha256').update(text).digest('base64url').slice(0, 12)}.${extension}`;

/** @param {typeof import('esbuild')} esbuild */
async function buildGalleryPage(esbuild) {
  const common = { bundle: true, minify: true, write: false, metafile: true, legalComments: 'none', logLevel: 'silent' };
  const [script, style, template] = await Promise.all([
    esbuild.build({ ...common, entryPoints: [path.join(WEB, 'main.ts')], format: 'esm', target: 'es2022', platform: 'browser' }),
    esbuild.build({ ...common, entryPoints: [path.join(WEB, 'gallery.css')], target: ['chrome111', 'firefox113', 'safari16.2'] }),
    readFile(path.join(WEB, 'index.html'), 'utf8'),
  ]);
  const js = script.outputFiles[0].text;
  const css = style.outputFiles[0].text;
  const jsName = contentName('app', 'js', js);
  const cssName = contentName('app', 'css', css);
  // Relative: the page is at the API's root, which may sit under a stage prefix.
  const html = template.replace('%SCRIPT%', `gallery/${jsName}`).replace('%STYLE%', `gallery/${cssName}`);
  const inputs = [...Object.keys(script.metafile.inputs), ...Object.keys(style.metafile.inputs)].map((input) => path.resolve(input));
  return {
    html,
    assets: {
      [jsName]: { contentType: 'text/javascript; charset=utf-8', body: js },
      [cssName]: { contentType: 'text/css; charset=utf-8', body: css },
    },
    watchFiles: [...inputs, path.join(WEB, 'index.html')],
  };
}

const galleryPage = {
  name: 'gallery-page',
  setup(build) {
    build.onResolve({ filter: VIRTUAL }, () => ({ path: 'gallery-page', namespace: 'gallery-page' }));
    build.onLoad({ filter: /.*/, namespace: 'gallery-page' }, async () => {
      const { html, assets, watchFiles } = await buildGalleryPage(build.esbuild);
      return { contents: `export default ${JSON.stringify({ html, assets })};`, loader: 'js', watchFiles };
    });
  },
};

module.exports = () => [galleryPage];
module.exports.buildGalleryPage = buildGalleryPage;
