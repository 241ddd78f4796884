//! Rust statements that remove the one-way properties of a schema from a JSON value: the
//! `readOnly` ones from a request body the typed client sends (the router refuses them), the
//! `writeOnly` ones from a response body the router sends (a password sent in a request must
//! never come back). One model type serves both directions, so the properties are removed from
//! the value as serialized, not from the type.
//!
//! Functions are generated only for the components that can hold such a property, directly or
//! through references, arrays, maps and alternatives; in a `oneOf`/`anyOf` value, the one-way
//! properties of every alternative are removed.

use std::collections::{BTreeMap, BTreeSet};

use super::names::{literal, snake_case};
use super::shape::{Additional, Node, Shape};

/// Which properties go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direction {
    /// A request: `readOnly` properties are the service's to set.
    Request,
    /// A response: `writeOnly` properties are the client's to send.
    Response,
}

impl Direction {
    fn drops(self, node: &Node) -> bool {
        match self {
            Self::Request => node.read_only,
            Self::Response => node.write_only,
        }
    }

    /// What the generated function's doc comment says it removes.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Request => "readOnly",
            Self::Response => "writeOnly",
        }
    }
}

/// The name of the function removing `direction`'s one-way properties from a value of
/// `component`.
pub fn strip_fn_name(direction: Direction, component: &str) -> String {
    let what = match direction {
        Direction::Request => "read_only",
        Direction::Response => "write_only",
    };
    format!("without_{what}_{}", snake_case(component))
}

/// The functions emitted statements call, in the order first called.
#[derive(Debug, Default)]
pub struct OneWay {
    pub called: Vec<(Direction, String)>,
}

impl OneWay {
    /// Whether a value of `node` can hold a property `direction` removes.
    pub fn needed(components: &BTreeMap<String, Node>, node: &Node, direction: Direction) -> bool {
        needed(components, node, direction, &mut BTreeSet::new())
    }

    /// An expression of type `fn(&mut Value)` removing `direction`'s one-way properties from a
    /// value of `node`, or `None` when it cannot hold any.
    pub fn strip_fn(
        &mut self,
        components: &BTreeMap<String, Node>,
        node: &Node,
        direction: Direction,
    ) -> Option<String> {
        if !Self::needed(components, node, direction) {
            return None;
        }
        if let Shape::Ref(component) = &node.shape {
            self.call(direction, component);
            return Some(strip_fn_name(direction, component));
        }
        let body = self.statements(components, node, direction);
        Some(format!("|value: &mut Value| {{\n{body}\n}}"))
    }

    /// The body of the function of `component` (`value: &mut Value` in scope).
    pub fn function_body(
        &mut self,
        components: &BTreeMap<String, Node>,
        component: &str,
        direction: Direction,
    ) -> String {
        match components.get(component) {
            Some(node) => {
                // A component's own shape, not a call of its own function.
                let node = node.clone();
                self.shape_statements(components, &node.shape, direction)
            }
            None => String::new(),
        }
    }

    fn call(&mut self, direction: Direction, component: &str) {
        let entry = (direction, component.to_string());
        if !self.called.contains(&entry) {
            self.called.push(entry);
        }
    }

    /// Statements working on `value` (a `&mut Value`); empty when nothing can go.
    fn statements(
        &mut self,
        components: &BTreeMap<String, Node>,
        node: &Node,
        direction: Direction,
    ) -> String {
        if !Self::needed(components, node, direction) {
            return String::new();
        }
        match &node.shape {
            Shape::Ref(component) => {
                self.call(direction, component);
                format!("{}(value);", strip_fn_name(direction, component))
            }
            shape => self.shape_statements(components, shape, direction),
        }
    }

    fn shape_statements(
        &mut self,
        components: &BTreeMap<String, Node>,
        shape: &Shape,
        direction: Direction,
    ) -> String {
        match shape {
            Shape::Ref(component) => {
                let Some(node) = components.get(component) else {
                    return String::new();
                };
                self.statements(components, &node.clone(), direction)
            }
            Shape::Object(object) => {
                let mut body = Vec::new();
                for (name, property) in &object.properties {
                    if direction.drops(property) {
                        body.push(format!("object.remove({});", literal(name)));
                        continue;
                    }
                    let inner = self.statements(components, property, direction);
                    if !inner.is_empty() {
                        body.push(format!(
                            "if let Some(value) = object.get_mut({}) {{\n{inner}\n}}",
                            literal(name)
                        ));
                    }
                }
                if let Additional::Schema(values) = &object.additional {
                    let inner = self.statements(components, values, direction);
                    if !inner.is_empty() {
                        let known: Vec<String> =
                            object.properties.iter().map(|(n, _)| literal(n)).collect();
                        body.push(format!(
                            "for (name, value) in object.iter_mut() {{\n\
                             if [{}].contains(&name.as_str()) {{\ncontinue;\n}}\n{inner}\n}}",
                            known.join(", ")
                        ));
                    }
                }
                if body.is_empty() {
                    String::new()
                } else {
                    format!(
                        "if let Some(object) = value.as_object_mut() {{\n{}\n}}",
                        body.join("\n")
                    )
                }
            }
            Shape::Array(array) => {
                let inner = self.statements(components, &array.items, direction);
                if inner.is_empty() {
                    String::new()
                } else {
                    format!(
                        "if let Some(items) = value.as_array_mut() {{\nfor value in items {{\n{inner}\n}}\n}}"
                    )
                }
            }
            Shape::Union(union) => union
                .alternatives
                .iter()
                .map(|alternative| self.statements(components, alternative, direction))
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("\n"),
            Shape::String(_)
            | Shape::Integer(_)
            | Shape::Number(_)
            | Shape::Boolean
            | Shape::Null
            | Shape::Never
            | Shape::Any => String::new(),
        }
    }
}

fn needed(
    components: &BTreeMap<String, Node>,
    node: &Node,
    direction: Direction,
    visited: &mut BTreeSet<String>,
) -> bool {
    match &node.shape {
        Shape::Ref(component) => {
            // Reachability: a component seen before adds nothing new.
            if !visited.insert(component.clone()) {
                return false;
            }
            components
                .get(component)
                .is_some_and(|node| needed(components, node, direction, visited))
        }
        Shape::Object(object) => {
            object.properties.iter().any(|(_, property)| {
                direction.drops(property) || needed(components, property, direction, visited)
            }) || matches!(&object.additional, Additional::Schema(values) if needed(components, values, direction, visited))
        }
        Shape::Array(array) => needed(components, &array.items, direction, visited),
        Shape::Union(union) => union
            .alternatives
            .iter()
            .any(|alternative| needed(components, alternative, direction, visited)),
        Shape::String(_)
        | Shape::Integer(_)
        | Shape::Number(_)
        | Shape::Boolean
        | Shape::Null
        | Shape::Never
        | Shape::Any => false,
    }
}
