// zod/mini with English messages, for the schemas of the ingest functions. zod/mini tree-shakes (a bundle keeps only
// the checks it uses; classic zod's methods keep all of them) but, unlike classic zod, loads no locale, so its issues
// would all read "Invalid input". Importing z from here sets classic zod's English messages (a global setting, shared
// with classic zod wherever both are loaded). Mini schemas nest in classic ones and parse the same way.
import * as z from 'zod/mini';

z.config(z.locales.en());

export * from 'zod/mini';
