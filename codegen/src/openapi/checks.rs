//! Rust statements that check a JSON value against a [`Node`] with a
//! `contract_runtime::validate::Validator` named `validator`. The statements are emitted
//! unindented; rustfmt lays them out.

use std::collections::BTreeSet;

use super::names::{literal, snake_case};
use super::shape::{Additional, Node, ObjectShape, Shape, StringFormat};

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
                if let Some(format) = string.format {
                    self.import("contract_runtime::validate::StringFormat");
                    let variant = match format {
                        StringFormat::Uuid => "Uuid",
                        StringFormat::DateTime => "DateTime",
                        StringFormat::Date => "Date",
                    };
                    rules.push_str(&format!(".format(StringFormat::{variant})"));
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
                let mut rules = String::from(if integer.int32 {
                    "IntegerRules::int32()"
                } else {
                    "IntegerRules::int64()"
                });
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
                format!("validator.number({value}, {at}, {rules});")
            }
            Shape::Boolean => format!("validator.boolean({value}, {at});"),
            Shape::Any => String::new(),
            Shape::Array(array) => {
                self.import("contract_runtime::validate::ArrayRules");
                let mut rules = String::from("ArrayRules::new()");
                if let Some(min) = array.min_items {
                    rules.push_str(&format!(".min_items({min})"));
                }
                if let Some(max) = array.max_items {
                    rules.push_str(&format!(".max_items({max})"));
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

    fn check_object(
        &mut self,
        object: &ObjectShape,
        value: &str,
        at: &str,
        top_level: bool,
    ) -> String {
        let mut body = Vec::new();
        if !object.required.is_empty() {
            let names: Vec<String> = object.required.iter().map(|n| literal(n)).collect();
            body.push(format!(
                "validator.required(object, at, &[{}]);",
                names.join(", ")
            ));
        }
        if matches!(object.additional, Additional::Forbidden) {
            let names: Vec<String> = object.properties.iter().map(|(n, _)| literal(n)).collect();
            body.push(format!(
                "validator.only_properties(object, at, &[{}]);",
                names.join(", ")
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
