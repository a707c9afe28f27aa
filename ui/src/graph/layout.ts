// Lays a workflow out top to bottom with dagre, so a definition (which has no coordinates) can be drawn: node
// positions, and for each edge the points dagre routed it through (so no edge runs under a node) and its label spot.
import dagre from '@dagrejs/dagre';
import type { Definition } from '../types';

export const NODE_WIDTH = 230;
export const NODE_HEIGHT = 72;

export interface Point {
  x: number;
  y: number;
}

export interface Layout {
  /** Top-left corner of each node. */
  nodes: Map<string, Point>;
  /** By `from->to`: the bends between the two ends, and where the label goes. */
  edges: Map<string, { bends: Point[]; label?: Point }>;
}

export function layout(definition: Definition): Layout {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: 'TB', nodesep: 60, ranksep: 48, marginx: 16, marginy: 16 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of definition.nodes) graph.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  // A labelled edge (branch, split) gets room for its label, so no node is placed over it.
  for (const edge of definition.edges)
    graph.setEdge(edge.from, edge.to, edge.when ? { width: 48, height: 20, labelpos: 'c' } : {});
  dagre.layout(graph);

  const nodes = new Map<string, Point>();
  for (const node of definition.nodes) {
    const placed = graph.node(node.id);
    nodes.set(node.id, { x: (placed?.x ?? 0) - NODE_WIDTH / 2, y: (placed?.y ?? 0) - NODE_HEIGHT / 2 });
  }
  const edges = new Map<string, { bends: Point[]; label?: Point }>();
  for (const edge of definition.edges) {
    const routed = graph.edge(edge.from, edge.to) as { points?: Point[]; x?: number; y?: number } | undefined;
    const points = routed?.points ?? [];
    edges.set(`${edge.from}->${edge.to}`, {
      // The first and last points sit on the node borders; React Flow's handles replace them.
      bends: points.slice(1, -1),
      ...(routed?.x !== undefined && routed.y !== undefined ? { label: { x: routed.x, y: routed.y } } : {}),
    });
  }
  return { nodes, edges };
}

/** A smooth SVG path from `start` through `bends` to `end` (straight segments with rounded corners). */
export function routedPath(start: Point, bends: readonly Point[], end: Point, radius = 12): string {
  const points = [start, ...bends, end];
  let path = `M ${start.x} ${start.y}`;
  for (let i = 1; i < points.length - 1; i += 1) {
    const [a, b, c] = [points[i - 1]!, points[i]!, points[i + 1]!];
    const inLength = Math.hypot(b.x - a.x, b.y - a.y) || 1;
    const outLength = Math.hypot(c.x - b.x, c.y - b.y) || 1;
    const r = Math.min(radius, inLength / 2, outLength / 2);
    const before = { x: b.x - ((b.x - a.x) / inLength) * r, y: b.y - ((b.y - a.y) / inLength) * r };
    const after = { x: b.x + ((c.x - b.x) / outLength) * r, y: b.y + ((c.y - b.y) / outLength) * r };
    path += ` L ${before.x} ${before.y} Q ${b.x} ${b.y} ${after.x} ${after.y}`;
  }
  return `${path} L ${end.x} ${end.y}`;
}
