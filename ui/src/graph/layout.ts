// Lays a workflow out top to bottom with dagre, so a definition (which has no coordinates) can be drawn.
import dagre from '@dagrejs/dagre';
import type { Definition } from '../types';

export const NODE_WIDTH = 230;
export const NODE_HEIGHT = 72;

export function layout(definition: Definition): Map<string, { x: number; y: number }> {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: 'TB', nodesep: 40, ranksep: 56, marginx: 16, marginy: 16 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of definition.nodes) graph.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const edge of definition.edges) graph.setEdge(edge.from, edge.to);
  dagre.layout(graph);
  const positions = new Map<string, { x: number; y: number }>();
  for (const node of definition.nodes) {
    const placed = graph.node(node.id);
    positions.set(node.id, { x: (placed?.x ?? 0) - NODE_WIDTH / 2, y: (placed?.y ?? 0) - NODE_HEIGHT / 2 });
  }
  return positions;
}
