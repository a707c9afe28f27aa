// The graph of a workflow version: node types, the key parameter and edge labels readable; in the debugger each node
// is coloured by what happened to it and the path taken is highlighted.
import {
  Background,
  BaseEdge,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useStore,
  type Edge,
  type EdgeProps,
  type Node,
  type NodeProps,
  type ReactFlowState,
} from '@xyflow/react';
import { memo, useEffect, useMemo, useState } from 'react';
import type { Definition, WorkflowNode } from '../types';
import { NODE_HEIGHT, NODE_WIDTH, layout, routedPath, type Point } from './layout';
import { edgeKey, type ExecutionView, type NodeState } from './status';

type StepNodeData = {
  node: WorkflowNode;
  state?: NodeState;
  detail?: string;
  selected: boolean;
};

const stateLabels: Record<NodeState, string> = {
  done: 'done',
  running: 'running',
  retrying: 'retrying',
  waiting: 'waiting',
  failed: 'failed',
  'dead-lettered': 'dead-lettered',
  skipped: 'skipped',
  pending: 'not yet',
  'not-run': 'not run',
};

/** The one parameter that says most about a node, shortened for the box. */
export function summary(node: WorkflowNode): string {
  const params = node.params ?? {};
  const pick = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));
  switch (node.type) {
    case 'trigger':
      return node.event ?? '';
    case 'send_email':
      return pick(params.subject);
    case 'send_sms':
    case 'send_whatsapp':
      return pick(params.body ?? params.templateName);
    case 'wait':
      return pick(params.duration ?? `until ${String(params.until)}`);
    case 'branch': {
      const condition = params.condition as { field?: string; op?: string; value?: unknown } | undefined;
      return condition?.field
        ? `${condition.field} ${condition.op} ${JSON.stringify(condition.value ?? '')}`
        : 'condition';
    }
    case 'add_tag':
      return pick(params.tag);
    case 'change_status':
      return pick(params.status);
    case 'update_lead':
      return Object.keys((params.fields as object | undefined) ?? {}).join(', ');
    case 'webhook_call':
      return `${pick(params.method ?? 'POST')} ${pick(params.url)}`;
    case 'split':
      return ((params.variants as { label: string; weight: number }[] | undefined) ?? [])
        .map((v) => `${v.label}:${v.weight}`)
        .join(' ');
    case 'join':
      return `joins ${pick(params.parallel)}`;
    default:
      return '';
  }
}

const StepNode = memo(function StepNode({ data }: NodeProps<Node<StepNodeData>>) {
  const { node, state, detail, selected } = data;
  const text = summary(node);
  return (
    <div
      className={`flow-node state-${state ?? 'none'}${selected ? ' selected' : ''}`}
      data-node-id={node.id}
      data-status={state ?? ''}
      title={text}
    >
      <Handle type="target" position={Position.Top} />
      <div className="flow-node-head">
        <strong>{node.name ?? node.id}</strong>
        <span className="flow-node-type">{node.type}</span>
      </div>
      <div className="flow-node-summary">{text}</div>
      {state && (
        <div className="flow-node-state">
          {stateLabels[state]}
          {detail ? ` · ${detail}` : ''}
        </div>
      )}
      <Handle type="source" position={Position.Bottom} />
    </div>
  );
});

type RoutedEdgeData = { bends: Point[]; label?: Point };

/** An edge drawn through the bends dagre routed it along, with its label where dagre made room for it. */
const RoutedEdge = memo(function RoutedEdge(props: EdgeProps<Edge<RoutedEdgeData>>) {
  const { sourceX, sourceY, targetX, targetY, data, label, markerEnd, style } = props;
  const bends = data?.bends ?? [];
  const path = routedPath({ x: sourceX, y: sourceY }, bends, { x: targetX, y: targetY });
  const spot = data?.label ?? { x: (sourceX + targetX) / 2, y: (sourceY + targetY) / 2 };
  return (
    <BaseEdge
      path={path}
      {...(markerEnd ? { markerEnd } : {})}
      {...(style ? { style } : {})}
      {...(label !== undefined
        ? {
            label,
            labelX: spot.x,
            labelY: spot.y,
            labelBgPadding: [6, 3] as [number, number],
            labelBgBorderRadius: 4,
          }
        : {})}
    />
  );
});

const nodeTypes = { step: StepNode };
const edgeTypes = { routed: RoutedEdge };

interface GraphProps {
  definition: Definition;
  view?: ExecutionView;
  selected?: string;
  onSelect?: (nodeId: string | undefined) => void;
  /** Told once every node is drawn and measured. */
  onReady?: () => void;
  height?: number;
}

/** Graphs above this many nodes draw only what is in view and open on the part that matters. */
export const LARGE_GRAPH = 40;
const FOCUS_STATES = new Set<NodeState>(['failed', 'dead-lettered', 'retrying', 'running', 'waiting']);

/**
 * Drawn: the initial fit is done and every node in view is measured (React Flow records handle bounds when it
 * measures a node in the DOM; with `onlyRenderVisibleElements` nodes out of view are not in the DOM).
 */
const drawn = (state: ReactFlowState) => {
  if (state.nodeLookup.size === 0 || state.fitViewQueued || state.width === 0) return false;
  const [x, y, zoom] = state.transform;
  for (const node of state.nodeLookup.values()) {
    const { x: nx, y: ny } = node.internals.positionAbsolute;
    const left = nx * zoom + x;
    const top = ny * zoom + y;
    const inView =
      left + NODE_WIDTH * zoom >= 0 &&
      left <= state.width &&
      top + NODE_HEIGHT * zoom >= 0 &&
      top <= state.height;
    if (inView && node.internals.handleBounds === undefined) return false;
  }
  return true;
};

function ReadySignal({ onReady }: { onReady?: () => void }) {
  const initialized = useStore(drawn);
  useEffect(() => {
    if (initialized) onReady?.();
  }, [initialized, onReady]);
  return null;
}

function nodeDetail(view: ExecutionView | undefined, id: string): string | undefined {
  const node = view?.nodes[id];
  if (!node) return undefined;
  if (node.state === 'waiting' && node.until) return `until ${new Date(node.until).toLocaleTimeString()}`;
  if (
    (node.state === 'failed' || node.state === 'dead-lettered' || node.state === 'retrying') &&
    node.lastError
  )
    return node.lastError.code;
  const attempts = node.steps.filter((step) => step.status === 'failed').length;
  return attempts > 0 && node.state === 'done' ? `after ${attempts} failed` : undefined;
}

function Graph({ definition, view, selected, onSelect, onReady, height = 520 }: GraphProps) {
  const placed = useMemo(() => layout(definition), [definition]);
  const large = definition.nodes.length > LARGE_GRAPH;
  // A large graph opens on the nodes that need attention (else its start); decided once, when it is first drawn.
  const [fitOptions] = useState(() => {
    if (!large) return { padding: 0.15, maxZoom: 1.1 };
    const attention = definition.nodes.filter((node) =>
      FOCUS_STATES.has(view?.nodes[node.id]?.state ?? 'pending'),
    );
    const focus = (attention.length > 0 ? attention : definition.nodes).slice(0, 6);
    return { padding: 0.3, maxZoom: 1, minZoom: 0.4, nodes: focus.map((node) => ({ id: node.id })) };
  });
  const nodes: Node<StepNodeData>[] = useMemo(
    () =>
      definition.nodes.map((node) => ({
        id: node.id,
        type: 'step',
        position: placed.nodes.get(node.id) ?? { x: 0, y: 0 },
        data: {
          node,
          ...(view ? { state: view.nodes[node.id]?.state } : {}),
          detail: nodeDetail(view, node.id),
          selected: selected === node.id,
        } as StepNodeData,
        draggable: false,
        connectable: false,
      })),
    [definition, placed, view, selected],
  );
  const edges: Edge<RoutedEdgeData>[] = useMemo(
    () =>
      definition.edges.map((edge) => {
        const taken = view?.taken.has(edgeKey(edge.from, edge.to)) ?? false;
        const target = view?.nodes[edge.to]?.state;
        return {
          id: `${edge.from}->${edge.to}:${edge.when ?? ''}`,
          type: 'routed',
          source: edge.from,
          target: edge.to,
          data: placed.edges.get(edgeKey(edge.from, edge.to)) ?? { bends: [] },
          ...(edge.when !== undefined ? { label: edge.when } : {}),
          animated: taken && (target === 'running' || target === 'retrying'),
          className: taken ? 'edge-taken' : view ? 'edge-idle' : '',
          markerEnd: { type: MarkerType.ArrowClosed },
          style: taken ? { stroke: '#2563eb', strokeWidth: 3 } : view ? { stroke: '#cbd5e1' } : {},
        };
      }),
    [definition, placed, view],
  );
  return (
    <div className="graph" style={{ height }} data-testid="graph">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        fitView
        fitViewOptions={fitOptions}
        onlyRenderVisibleElements={large}
        minZoom={0.05}
        nodesDraggable={false}
        nodesConnectable={false}
        proOptions={{ hideAttribution: true }}
        onNodeClick={(_event, node) => onSelect?.(node.id === selected ? undefined : node.id)}
        onPaneClick={() => onSelect?.(undefined)}
      >
        <Background gap={24} />
        <Controls showInteractive={false} />
        <ReadySignal {...(onReady ? { onReady } : {})} />
      </ReactFlow>
    </div>
  );
}

export function WorkflowGraph(props: GraphProps) {
  return (
    <ReactFlowProvider>
      <Graph {...props} />
    </ReactFlowProvider>
  );
}
