//! The topology picture: an SVG drawn from the manifest, data flowing left to right —
//! services write their databases, connectors relay the tables to topics, consumer groups
//! read the topics on behalf of services. Every box links to its page.

use std::fmt::Write as _;

use super::Catalog;

const ROW: f64 = 64.0;
const BOX_HEIGHT: f64 = 44.0;
const GAP: f64 = 56.0;
const MARGIN: f64 = 20.0;
const HEADER: f64 = 34.0;
/// Width of one character of the 12px monospace labels.
const CHAR: f64 = 7.3;

struct Node {
    /// Unique within the picture: `service:person`, `topic:...`.
    key: String,
    label: String,
    detail: String,
    href: String,
    class: &'static str,
}

struct Column {
    title: &'static str,
    nodes: Vec<Node>,
}

/// The SVG markup (no XML prolog: it is inlined into the index page).
pub fn topology(catalog: &Catalog) -> String {
    let writers: Vec<Node> = catalog
        .services
        .iter()
        .filter(|s| !s.connectors.is_empty())
        .map(|s| service_node(&s.name, "writes its database"))
        .collect();
    let connectors: Vec<Node> = catalog
        .connectors
        .iter()
        .map(|c| Node {
            key: format!("connector:{}", c.name),
            label: c.name.clone(),
            detail: format!("{} of {}", c.role, c.table),
            href: format!("services/{}.html#connectors", c.service),
            class: "connector",
        })
        .collect();
    // Under the record-name strategies several events share a topic: one box, the first
    // event's page, every event named.
    let mut topics: Vec<Node> = Vec::new();
    for event in &catalog.events {
        let key = format!("topic:{}", event.topic);
        if let Some(node) = topics.iter_mut().find(|t| t.key == key) {
            node.detail = format!("{}, {}", node.detail, event.event_type);
            continue;
        }
        topics.push(Node {
            key,
            label: event.topic.clone(),
            detail: format!("{} ({})", event.event_type, event.level),
            href: format!("events/{}.html", event.event_type),
            class: "topic",
        });
    }
    topics.extend(catalog.private_topics.iter().map(|t| Node {
        key: format!("topic:{}", t.name),
        label: t.name.clone(),
        detail: format!("private, {}", t.format),
        href: format!("services/{}.html", t.owner),
        class: "topic private",
    }));
    // Groups in the order of the topics they read, readers in the order of their first
    // group: fewer crossing lines.
    let topic_row = |topic: &str| {
        topics
            .iter()
            .position(|t| t.key == format!("topic:{topic}"))
            .unwrap_or(usize::MAX)
    };
    let mut consumers: Vec<_> = catalog
        .services
        .iter()
        .flat_map(|s| s.consumes.iter())
        .collect();
    consumers.sort_by_key(|c| topic_row(&c.topic));
    let groups: Vec<Node> = consumers
        .iter()
        .map(|consumer| Node {
            key: format!("group:{}", consumer.group),
            label: consumer.group.clone(),
            detail: format!("{} consumer", consumer.kind),
            href: format!("services/{}.html#consumes", consumer.service),
            class: "group",
        })
        .collect();
    let mut readers: Vec<Node> = Vec::new();
    for consumer in &consumers {
        let key = format!("reader:{}", consumer.service);
        if !readers.iter().any(|r| r.key == key) {
            readers.push(Node {
                key,
                ..service_node(&consumer.service, "reads through its groups")
            });
        }
    }

    let mut edges: Vec<(String, String)> = Vec::new();
    for c in &catalog.connectors {
        edges.push((
            format!("service:{}", c.service),
            format!("connector:{}", c.name),
        ));
        for topic in &c.topics {
            edges.push((format!("connector:{}", c.name), format!("topic:{topic}")));
        }
    }
    for service in &catalog.services {
        for consumer in &service.consumes {
            edges.push((
                format!("topic:{}", consumer.topic),
                format!("group:{}", consumer.group),
            ));
            edges.push((
                format!("group:{}", consumer.group),
                format!("reader:{}", consumer.service),
            ));
        }
    }

    let columns = [
        Column {
            title: "services",
            nodes: writers,
        },
        Column {
            title: "connectors",
            nodes: connectors,
        },
        Column {
            title: "topics",
            nodes: topics,
        },
        Column {
            title: "consumer groups",
            nodes: groups,
        },
        Column {
            title: "services",
            nodes: readers,
        },
    ];
    render(&columns, &edges)
}

fn service_node(name: &str, detail: &str) -> Node {
    Node {
        key: format!("service:{name}"),
        label: name.to_owned(),
        detail: detail.to_owned(),
        href: format!("services/{name}.html"),
        class: "service",
    }
}

/// Where each node was placed: key, its left x, right x and middle y.
struct Placed {
    key: String,
    left: f64,
    right: f64,
    middle: f64,
}

fn render(columns: &[Column], edges: &[(String, String)]) -> String {
    let rows = columns
        .iter()
        .map(|c| c.nodes.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let height = HEADER + rows as f64 * ROW + MARGIN;
    let mut x = MARGIN;
    let mut placed = Vec::new();
    let mut boxes = String::new();
    for column in columns {
        let longest = column
            .nodes
            .iter()
            .flat_map(|n| [n.label.chars().count(), n.detail.chars().count()])
            .chain([column.title.len()])
            .max()
            .unwrap_or(0);
        let width = (longest as f64 * CHAR + 20.0).max(110.0);
        let _ = writeln!(
            boxes,
            r#"<text class="column" x="{:.1}" y="20">{}</text>"#,
            x + width / 2.0,
            escape(column.title)
        );
        // Centred vertically, so short columns sit beside the middle of long ones.
        let top = HEADER + (rows - column.nodes.len()) as f64 * ROW / 2.0;
        for (i, node) in column.nodes.iter().enumerate() {
            let y = top + i as f64 * ROW;
            let _ = writeln!(
                boxes,
                r#"<a href="{href}" class="node {class}" data-key="{key}"><rect x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{BOX_HEIGHT}" rx="6"/><text x="{tx:.1}" y="{ty1:.1}">{label}</text><text class="detail" x="{tx:.1}" y="{ty2:.1}">{detail}</text></a>"#,
                href = escape(&node.href),
                class = node.class,
                key = escape(&node.key),
                tx = x + 10.0,
                ty1 = y + 18.0,
                ty2 = y + 34.0,
                label = escape(&node.label),
                detail = escape(&node.detail),
            );
            placed.push(Placed {
                key: node.key.clone(),
                left: x,
                right: x + width,
                middle: y + BOX_HEIGHT / 2.0,
            });
        }
        x += width + GAP;
    }
    let width = x - GAP + MARGIN;

    let mut lines = String::new();
    for (from, to) in edges {
        let (Some(a), Some(b)) = (
            placed.iter().find(|p| &p.key == from),
            placed.iter().find(|p| &p.key == to),
        ) else {
            continue;
        };
        let bend = (b.left - a.right) / 2.0;
        let _ = writeln!(
            lines,
            r#"<path class="edge" d="M{:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" marker-end="url(#arrow)"/>"#,
            a.right,
            a.middle,
            a.right + bend,
            a.middle,
            b.left - bend,
            b.middle,
            b.left - 2.0,
            b.middle
        );
    }

    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="topology" role="img" aria-labelledby="topology-title" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}">
<title id="topology-title">Topology: services, connectors, topics and consumer groups</title>
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>
{lines}{boxes}</svg>"##
    )
}

/// Text and attribute escaping for SVG inlined in HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
