;; The babashka side of Blambda's event loop. In this example /opt/bb does
;; what this file would do under real babashka: it is a shell stand-in, so
;; the example runs without downloading babashka.
(ns bootstrap)
