//! Rust statements that check a JSON value against a [`Node`] with a
//! `contract_runtime::validate::Validator` named `validator`. The statements are emitted
//! unindented; rustfmt lays them out.

use std::collections::BTreeSet;

use super::names::{literal, snake_case};
use super::shape::{Additional, Node, ObjectShape, Shape, StringFormat, UnionShape};

/// What emitted checks need: imports, and the components whose validators they call.
#[derive(Debug, Default)]
pub struct CheckContext {
    pub imports: BTreeSet<String>,
    pub called: Vec<String>,
    /// How the validator is passed to a component's validator: `validator` inside validator
    /// functions (a `&mut Validator` already), `&mut validator` in route handlers.
    pub validator_arg: &'static str,
}

/// The name of a component's validator.
pub fn validator_name(component: &str) -> String {
    format!("validate_{}", snake_case(component))
}

impl CheckContext {
    fn import(&mut self, path: &str) {
        self.imports.insert(path.to_string());
    }

    /// Statements checking `value` (an expression of type `&Value`) found at `at` (of type
    /// `&str`); empty when any value passes.
    pub fn check(&mut self, node: &Node, value: &str, at: &str) -> String {
        let inner = self.check_shape(&node.shape, value, at, false);
        if node.nullable && !inner.is_empty() {
            format!("if !{value}.is_null() {{\n{inner}\n}}")
        } else {
            inner
        }
    }

    /// The body of a component's validator function (`value`, `at`, `validator` in scope).
    pub fn function_body(&mut self, node: &Node) -> String {
        let inner = self.check_shape(&node.shape, "value", "at", true);
        if node.nullable && !inner.is_empty() {
            format!("if value.is_null() {{\nreturn;\n}}\n{inner}")
        } else {
            inner
        }
    }

    fn check_shape(&mut self, shape: &Shape, value: &str, at: &str, top_level: bool) -> String {
        match shape {
            Shape::Ref(component) => {
                if !self.called.contains(component) {
                    self.called.push(component.clone());
                }
                let validator = if self.validator_arg.is_empty() {
                    "validator"
                } else {
                    self.validator_arg
                };
                format!("{}({value}, {at}, {validator});", validator_name(component))
            }
            Shape::String(string) => {
                self.import("contract_runtime::validate::StringRules");
                let mut rules = String::from("StringRules::new()");
                if let Some(format) = string.format.filter(|f| *f != StringFormat::Binary) {
                    self.import("contract_runtime::validate::StringFormat");
                    let variant = match format {
                        StringFormat::Uuid => Some("Uuid"),
                        StringFormat::DateTime => Some("DateTime"),
                        StringFormat::Date => Some("Date"),
                        StringFormat::Email => Some("Email"),
                        StringFormat::Uri => Some("Uri"),
                        StringFormat::Hostname => Some("Hostname"),
                        StringFormat::Ipv4 => Some("Ipv4"),
                        StringFormat::Ipv6 => Some("Ipv6"),
                        StringFormat::Byte => Some("Byte"),
                        StringFormat::Binary => None,
                    };
                    if let Some(variant) = variant {
                        rules.push_str(&format!(".format(StringFormat::{variant})"));
                    }
                }
                if let Some(min) = string.min_length {
                    rules.push_str(&format!(".min_length({min})"));
                }
                if let Some(max) = string.max_length {
                    rules.push_str(&format!(".max_length({max})"));
                }
                if let Some(pattern) = &string.pattern {
                    rules.push_str(&format!(".pattern({})", literal(pattern)));
                }
                if !string.values.is_empty() {
                    let values: Vec<String> = string.values.iter().map(|v| literal(v)).collect();
                    rules.push_str(&format!(".one_of(&[{}])", values.join(", ")));
                }
                format!("validator.string({value}, {at}, {rules});")
            }
            Shape::Integer(integer) => {
                self.import("contract_runtime::validate::IntegerRules");
                let mut rules = String::from(integer.format.rules());
                if let Some(min) = integer.minimum {
                    let method = if integer.exclusive_minimum {
                        "exclusive_minimum"
                    } else {
                        "minimum"
                    };
                    rules.push_str(&format!(".{method}({min})"));
                }
                if let Some(max) = integer.maximum {
                    let method = if integer.exclusive_maximum {
                        "exclusive_maximum"
                    } else {
                        "maximum"
                    };
                    rules.push_str(&format!(".{method}({max})"));
                }
                if !integer.values.is_empty() {
                    let values: Vec<String> = integer.values.iter().map(i64::to_string).collect();
                    rules.push_str(&format!(".one_of(&[{}])", values.join(", ")));
                }
                if let Some(multiple) = integer.multiple_of {
                    rules.push_str(&format!(".multiple_of({multiple})"));
                }
                if integer.digit_string {
                    rules.push_str(".accept_digit_string()");
                }
                format!("validator.integer({value}, {at}, {rules});")
            }
            Shape::Number(number) => {
                self.import("contract_runtime::validate::NumberRules");
                let mut rules = String::from("NumberRules::new()");
                if let Some(min) = number.minimum {
                    let method = if number.exclusive_minimum {
                        "exclusive_minimum"
                    } else {
                        "minimum"
                    };
                    rules.push_str(&format!(".{method}({min:?})"));
                }
                if let Some(max) = number.maximum {
                    let method = if number.exclusive_maximum {
                        "exclusive_maximum"
                    } else {
                        "maximum"
                    };
                    rules.push_str(&format!(".{method}({max:?})"));
                }
                if let Some(multiple) = number.multiple_of {
                    rules.push_str(&format!(".multiple_of({multiple:?})"));
                }
                format!("validator.number({value}, {at}, {rules});")
            }
            Shape::Boolean => format!("validator.boolean({value}, {at});"),
            // Any value, but no text PostgreSQL cannot store.
            Shape::Any => format!("validator.any({value}, {at});"),
            Shape::Null => format!("validator.null({value}, {at});"),
            Shape::Never => format!("validator.never({value}, {at});"),
            Shape::Union(union) => self.check_union(union, value, at),
            Shape::Array(array) => {
                self.import("contract_runtime::validate::ArrayRules");
                let mut rules = String::from("ArrayRules::new()");
                if let Some(min) = array.min_items {
                    rules.push_str(&format!(".min_items({min})"));
                }
                if let Some(max) = array.max_items {
                    rules.push_str(&format!(".max_items({max})"));
                }
                if array.unique_items {
                    rules.push_str(".unique_items()");
                }
                let item = self.check(&array.items, "item", "at");
                if item.is_empty() {
                    return format!("validator.array({value}, {at}, {rules});");
                }
                self.import("contract_runtime::validate::pointer");
                let head = if at == "at" {
                    String::new()
                } else {
                    format!("let at = {at};\n")
                };
                format!(
                    "{head}if let Some(items) = validator.array({value}, at, {rules}) {{\n\
                     for (index, item) in items.iter().enumerate() {{\n\
                     let at = &pointer(at, index);\n{item}\n}}\n}}"
                )
            }
            Shape::Object(object) => self.check_object(object, value, at, top_level),
        }
    }

    /// `oneOf` / `anyOf`: each alternative is checked on its own (a closure per inline
    /// alternative), so the violation can say why each failed.
    fn check_union(&mut self, union: &UnionShape, value: &str, at: &str) -> String {
        self.import("contract_runtime::validate::Check");
        let saved = self.validator_arg;
        // Inside the closures, `validator` is a `&mut Validator` already.
        self.validator_arg = "validator";
        let mut alternatives = Vec::new();
        for (index, alternative) in union.alternatives.iter().enumerate() {
            let label = match (&alternative.title, &alternative.shape) {
                (Some(title), _) => format!("`{title}`"),
                (None, Shape::Ref(component)) => component.clone(),
                (None, _) => format!("alternative {}", index + 1),
            };
            let check = match &alternative.shape {
                Shape::Ref(component) => {
                    if !self.called.contains(component) {
                        self.called.push(component.clone());
                    }
                    format!("{} as Check", validator_name(component))
                }
                _ => {
                    let body = self.check(alternative, "value", "at");
                    format!(
                        "(|value: &Value, at: &str, validator: &mut Validator| {{\n{body}\n}}) as Check"
                    )
                }
            };
            alternatives.push((label, check));
        }
        self.validator_arg = saved;
        if let Some(discriminator) = &union.discriminator {
            let mut arms = Vec::new();
            for (tag, component) in &discriminator.mapping {
                if let Some((_, check)) = union
                    .alternatives
                    .iter()
                    .zip(&alternatives)
                    .find(|(alternative, _)| matches!(&alternative.shape, Shape::Ref(c) if c == component))
                    .map(|(_, alternative)| alternative)
                {
                    arms.push(format!("({}, {check})", literal(tag)));
                }
            }
            return format!(
                "validator.discriminated({value}, {at}, {}, &[{}]);",
                literal(&discriminator.property),
                arms.join(", ")
            );
        }
        let arms: Vec<String> = alternatives
            .iter()
            .map(|(label, check)| format!("({}, {check})", literal(label)))
            .collect();
        let method = if union.exactly_one {
            "one_of"
        } else {
            "any_of"
        };
        format!("validator.{method}({value}, {at}, &[{}]);", arms.join(", "))
    }

    fn check_object(
        &mut self,
        object: &ObjectShape,
        value: &str,
        at: &str,
        top_level: bool,
    ) -> String {
        let mut body = Vec::new();
        // Requests are checked: a `readOnly` property is the server's to send.
        let required: Vec<&String> = object
            .required
            .iter()
            .filter(|name| {
                !object
                    .properties
                    .iter()
                    .any(|(property, node)| property == *name && node.read_only)
            })
            .collect();
        if !required.is_empty() {
            let names: Vec<String> = required.iter().map(|n| literal(n)).collect();
            body.push(format!(
                "validator.required(object, at, &[{}]);",
                names.join(", ")
            ));
        }
        // ... and refused when a request sends it.
        let read_only: Vec<String> = object
            .properties
            .iter()
            .filter(|(_, node)| node.read_only)
            .map(|(name, _)| literal(name))
            .collect();
        if !read_only.is_empty() {
            body.push(format!(
                "validator.read_only(object, at, &[{}]);",
                read_only.join(", ")
            ));
        }
        if matches!(object.additional, Additional::Forbidden) {
            let names: Vec<String> = object.properties.iter().map(|(n, _)| literal(n)).collect();
            body.push(format!(
                "validator.only_properties(object, at, &[{}]);",
                names.join(", ")
            ));
        }
        if object.min_properties.is_some() || object.max_properties.is_some() {
            let bound = |b: Option<u64>| match b {
                Some(b) => format!("Some({b})"),
                None => "None".to_string(),
            };
            body.push(format!(
                "validator.property_count(object, at, {}, {});",
                bound(object.min_properties),
                bound(object.max_properties)
            ));
        }
        for (name, node) in &object.properties {
            let property_at = format!("&pointer(at, {})", literal(name));
            let check = self.check_shape(&node.shape, "value", &property_at, false);
            if check.is_empty() {
                continue;
            }
            self.import("contract_runtime::validate::pointer");
            let found = if node.nullable {
                format!(
                    "object.get({}).filter(|value| !value.is_null())",
                    literal(name)
                )
            } else {
                format!("object.get({})", literal(name))
            };
            body.push(format!("if let Some(value) = {found} {{\n{check}\n}}"));
        }
        if let Additional::Schema(values) = &object.additional {
            let check = self.check(values, "value", "at");
            if !check.is_empty() {
                self.import("contract_runtime::validate::pointer");
                body.push(format!(
                    "for (name, value) in object {{\nlet at = &pointer(at, name);\n{check}\n}}"
                ));
            }
        }
        let head = if at == "at" {
            String::new()
        } else {
            format!("let at = {at};\n")
        };
        if top_level {
            let rest = if body.is_empty() {
                String::new()
            } else {
                format!("\n{}", body.join("\n"))
            };
            if body.is_empty() {
                return format!("{head}validator.object({value}, at);");
            }
            return format!(
                "{head}let Some(object) = validator.object({value}, at) else {{\nreturn;\n}};{rest}"
            );
        }
        if body.is_empty() {
            return format!("{head}validator.object({value}, at);");
        }
        format!(
            "{head}if let Some(object) = validator.object({value}, at) {{\n{}\n}}",
            body.join("\n")
        )
    }
}
