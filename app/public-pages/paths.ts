// The URLs nginx keeps a copy of for a published list that change when its
// owner writes: the page and the JSON, first page. Deeper pages expire by
// themselves within their one-second lifetime.
export const publicPaths = (slug: string) => [`/u/${slug}`, `/api/public/${slug}/todos`];
