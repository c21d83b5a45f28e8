// The gallery page, built into the gallery function's bundle by the esbuild
// plugin of deploy/esbuild-plugins.cjs from web/.
declare module 'virtual:gallery-page' {
  const page: import('./gallery.ts').GalleryPage;
  export default page;
}
