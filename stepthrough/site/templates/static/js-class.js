/* Runs first, in <head>: marks the page as scripted before it paints, so CSS can hide the static
   frames that widgets replace. A file, not inline, so the page's Content-Security-Policy allows no
   inline script at all. */
document.documentElement.className += " js";
