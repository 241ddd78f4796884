//! `cargo xtask catalog`: the event catalog, a static site generated from the contracts
//! (the generator is `contract_compat::catalog`).
//!
//! `--check-in-browser` is its test in a real browser (CI runs it): headless Chromium loads
//! every page from `file://`, the DOM it built must show every event, service, version, field,
//! operation and consumer group of the catalog, every link must resolve to a page and an
//! element id that exist, and the overview is photographed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use contract_compat::catalog::{Catalog, build_catalog, render_site};

use crate::tools::chromium::Chromium;

#[derive(Args)]
pub struct CatalogArgs {
    /// Where to write the site (default: target/catalog under the repository root).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Then load every page in headless Chromium and check its DOM and links.
    #[arg(long)]
    check_in_browser: bool,
    /// Where the browser check saves its screenshot of the overview (default:
    /// target/catalog-screenshot.png; the README's is docs/catalog.png).
    #[arg(long, value_name = "PNG", requires = "check_in_browser")]
    screenshot: Option<PathBuf>,
}

pub fn run(args: CatalogArgs) -> Result<()> {
    let root = crate::project_root();
    let out = args.out.unwrap_or_else(|| root.join("target/catalog"));
    let catalog = build_catalog(&root)?;
    let files = render_site(&catalog)?;
    if out.exists() {
        // A stale page of a removed event must not survive (the link check would see it).
        std::fs::remove_dir_all(&out).with_context(|| format!("removing {}", out.display()))?;
    }
    for file in &files {
        let path = out.join(&file.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, &file.contents)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "catalog: {} pages ({} events, {} services) in {}; open {}",
        files.len(),
        catalog.events.len(),
        catalog.services.len(),
        out.display(),
        file_url(&out.join("index.html"))?
    );
    if args.check_in_browser {
        let screenshot = args
            .screenshot
            .unwrap_or_else(|| root.join("target/catalog-screenshot.png"));
        check_in_browser(&catalog, &out, &screenshot)?;
    }
    Ok(())
}

fn file_url(path: &Path) -> Result<String> {
    let absolute =
        std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))?;
    Ok(format!("file://{}", absolute.display()))
}

/// What one page's DOM holds: the elements' ids, the links, and the values of the `data-*`
/// attributes the checks look for.
#[derive(Debug, Default)]
struct PageDom {
    ids: BTreeSet<String>,
    links: Vec<String>,
    data: BTreeMap<&'static str, BTreeSet<String>>,
}

const DATA_ATTRIBUTES: &[&str] = &[
    "data-event",
    "data-service",
    "data-version",
    "data-field",
    "data-operation",
    "data-group",
    "data-key",
];

impl PageDom {
    fn parse(html: &str) -> Result<Self> {
        let dom = tl::parse(html, tl::ParserOptions::default())
            .context("Chromium's DOM does not parse as HTML")?;
        let mut page = PageDom::default();
        for node in dom.nodes() {
            let Some(tag) = node.as_tag() else { continue };
            let attributes = tag.attributes();
            let text = |name: &str| {
                attributes
                    .get(name)
                    .flatten()
                    .map(|value| value.as_utf8_str().into_owned())
            };
            if let Some(id) = text("id") {
                page.ids.insert(id);
            }
            if tag.name().as_utf8_str() == "a"
                && let Some(href) = text("href")
            {
                page.links.push(href);
            }
            for name in DATA_ATTRIBUTES {
                if let Some(value) = text(name) {
                    page.data.entry(name).or_default().insert(value);
                }
            }
        }
        Ok(page)
    }

    fn has(&self, attribute: &'static str, value: &str) -> bool {
        self.data
            .get(attribute)
            .is_some_and(|values| values.contains(value))
    }
}

fn check_in_browser(catalog: &Catalog, site: &Path, screenshot: &Path) -> Result<()> {
    let chromium = Chromium::ensure_installed()?;
    let mut pages = BTreeMap::new();
    for page in html_pages(site)? {
        let relative = page
            .strip_prefix(site)
            .context("a page outside the site")?
            .to_string_lossy()
            .into_owned();
        let dom = chromium
            .dump_dom(&file_url(&page)?)
            .with_context(|| format!("loading {relative} in Chromium"))?;
        pages.insert(relative, PageDom::parse(&dom)?);
    }
    let mut problems = Vec::new();
    let mut expect = |page: &str, attribute: &'static str, value: &str| match pages.get(page) {
        None => problems.push(format!("{page}: the page is missing")),
        Some(dom) if !dom.has(attribute, value) => {
            problems.push(format!("{page}: no element with {attribute}=\"{value}\""))
        }
        Some(_) => {}
    };
    let mut checked = 0usize;
    for event in &catalog.events {
        let page = format!("events/{}.html", event.event_type);
        expect("index.html", "data-event", &event.event_type);
        expect("index.html", "data-key", &format!("topic:{}", event.topic));
        expect(&page, "data-event", &event.event_type);
        for version in &event.versions {
            expect(&page, "data-version", &version.label);
        }
        for field in &event.record.fields {
            expect(&page, "data-field", &field.path);
        }
        checked += 1 + event.versions.len() + event.record.fields.len();
    }
    for service in &catalog.services {
        let page = format!("services/{}.html", service.name);
        expect("index.html", "data-service", &service.name);
        expect(&page, "data-service", &service.name);
        for operation in &service.operations {
            expect(&page, "data-operation", &operation.operation_id);
        }
        for consumer in &service.consumes {
            expect(&page, "data-group", &consumer.group);
            expect(
                "index.html",
                "data-key",
                &format!("group:{}", consumer.group),
            );
        }
        checked += 1 + service.operations.len() + service.consumes.len();
    }
    for connector in &catalog.connectors {
        expect(
            "index.html",
            "data-key",
            &format!("connector:{}", connector.name),
        );
    }

    let mut links = 0usize;
    for (page, dom) in &pages {
        for href in &dom.links {
            links += 1;
            if let Err(problem) = resolve(page, href, &pages) {
                problems.push(format!("{page}: link {href:?}: {problem}"));
            }
        }
    }
    if !problems.is_empty() {
        bail!(
            "catalog: the browser check found {} problem(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        );
    }
    chromium.screenshot(&file_url(&site.join("index.html"))?, screenshot, 1400, 1000)?;
    println!(
        "catalog: Chromium loaded {} pages: {checked} events, services, versions, fields, \
         operations and groups present, {links} links resolve; screenshot {}",
        pages.len(),
        screenshot.display()
    );
    Ok(())
}

/// Every `.html` file under `site`.
fn html_pages(site: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut dirs = vec![site.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?
        {
            let path = entry
                .with_context(|| format!("listing {}", dir.display()))?
                .path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "html") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Whether `href` on `page` reaches a page of the site and, with a fragment, an element with
/// that id there. The site is self-contained: any other scheme is an error.
fn resolve(page: &str, href: &str, pages: &BTreeMap<String, PageDom>) -> Result<(), String> {
    if href.contains("://") || href.starts_with("mailto:") || href.starts_with("//") {
        return Err("leaves the site (the catalog must work offline)".into());
    }
    let (path, fragment) = match href.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (href, None),
    };
    let target = if path.is_empty() {
        page.to_owned()
    } else {
        let mut parts: Vec<&str> = page.split('/').collect();
        parts.pop();
        for part in path.split('/') {
            match part {
                "." | "" => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Err("goes above the site's folder".into());
                    }
                }
                other => parts.push(other),
            }
        }
        parts.join("/")
    };
    let Some(dom) = pages.get(&target) else {
        return Err(format!("no page {target}"));
    };
    match fragment {
        Some(id) if !id.is_empty() && !dom.ids.contains(id) => {
            Err(format!("{target} has no element with id \"{id}\""))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> BTreeMap<String, PageDom> {
        let mut pages = BTreeMap::new();
        pages.insert(
            "index.html".to_owned(),
            PageDom::parse(r#"<a href="events/a.html#v1">a</a><h2 id="events">x</h2>"#)
                .expect("parses"),
        );
        pages.insert(
            "events/a.html".to_owned(),
            PageDom::parse(r#"<section id="v1" data-version="published v1"></section>"#)
                .expect("parses"),
        );
        pages
    }

    #[test]
    fn links_resolve_to_pages_and_ids_or_say_why_not() {
        let pages = site();
        assert_eq!(resolve("index.html", "events/a.html#v1", &pages), Ok(()));
        assert_eq!(
            resolve("events/a.html", "../index.html#events", &pages),
            Ok(())
        );
        assert_eq!(resolve("events/a.html", "#v1", &pages), Ok(()));
        assert_eq!(
            resolve("index.html", "events/b.html", &pages),
            Err("no page events/b.html".into())
        );
        assert_eq!(
            resolve("index.html", "events/a.html#v2", &pages),
            Err("events/a.html has no element with id \"v2\"".into())
        );
        assert!(resolve("index.html", "https://example.org/", &pages).is_err());
        assert!(resolve("index.html", "../../etc/passwd", &pages).is_err());
    }

    #[test]
    fn the_dom_records_ids_links_and_data_attributes() {
        let pages = site();
        let index = &pages["index.html"];
        assert_eq!(index.links, ["events/a.html#v1"]);
        assert!(index.ids.contains("events"));
        assert!(pages["events/a.html"].has("data-version", "published v1"));
        assert!(!pages["events/a.html"].has("data-version", "published v2"));
    }
}
