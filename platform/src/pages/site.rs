//! The site's presentation machinery: templates (embedded, or read from disk while
//! developing), the two message catalogs, the handlebars helpers and the static assets.

use std::collections::BTreeMap;
use std::sync::Arc;

use handlebars::{
    Context, DirectorySourceOptions, Handlebars, Helper, HelperResult, Output, RenderContext,
    RenderErrorReason,
};
use rust_embed::RustEmbed;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::AppError;

#[derive(RustEmbed)]
#[folder = "templates/"]
#[include = "*.hbs"]
#[include = "**/*.hbs"]
struct EmbeddedTemplates;

/// Files served under `/static/`.
#[derive(RustEmbed)]
#[folder = "static/"]
pub struct Assets;

/// A language of the interface; Chinese unless the visitor chose English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "zh" => Some(Self::Zh),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Zh => "zh",
            Self::En => "en",
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::Zh => Self::En,
            Self::En => Self::Zh,
        }
    }
}

/// One catalog: message key → text; `{name}` in a text is filled from the helper's hash.
pub type Catalog = BTreeMap<String, String>;

pub const ZH_CATALOG: &str = include_str!("../../templates/i18n/zh.toml");
pub const EN_CATALOG: &str = include_str!("../../templates/i18n/en.toml");

/// Both catalogs, flattened (`[nav] home = …` becomes `nav.home`).
#[derive(Debug, Clone)]
pub struct Catalogs {
    zh: Catalog,
    en: Catalog,
}

fn flatten(prefix: &str, table: &toml::Table, into: &mut Catalog) -> Result<(), String> {
    for (key, value) in table {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::String(text) => {
                into.insert(name, text.clone());
            }
            toml::Value::Table(inner) => flatten(&name, inner, into)?,
            _ => return Err(format!("`{name}` must be text")),
        }
    }
    Ok(())
}

pub fn parse_catalog(text: &str) -> Result<Catalog, String> {
    let table: toml::Table = text.parse().map_err(|e| format!("{e}"))?;
    let mut catalog = Catalog::new();
    flatten("", &table, &mut catalog)?;
    Ok(catalog)
}

impl Catalogs {
    pub fn embedded() -> Result<Self, AppError> {
        let load = |name: &str, text: &str| {
            parse_catalog(text).map_err(|e| AppError::Internal(format!("catalog {name}: {e}")))
        };
        Ok(Self {
            zh: load("zh", ZH_CATALOG)?,
            en: load("en", EN_CATALOG)?,
        })
    }

    pub fn of(&self, lang: Lang) -> &Catalog {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }

    /// The text for `key`; the key itself when missing, so a gap shows instead of breaking.
    pub fn text(&self, lang: Lang, key: &str) -> String {
        self.of(lang)
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_owned())
    }

    /// The name of a code (`kind` `metric`, value `roc_auc`) from the `[code]` section; an
    /// open-ended code the catalogs do not name (a department's own domain) as it is.
    pub fn code(&self, lang: Lang, kind: &str, value: &str) -> String {
        self.of(lang)
            .get(&format!("code.{kind}.{value}"))
            .cloned()
            .unwrap_or_else(|| value.to_owned())
    }
}

/// Templates, catalogs and the assets' version, built once at start-up.
pub struct Site {
    pub templates: Handlebars<'static>,
    pub catalogs: Arc<Catalogs>,
    /// Appended to asset URLs (`?v=…`), so long cache lifetimes never serve a stale file.
    pub asset_version: String,
}

impl Site {
    pub fn new(config: &Config) -> Result<Self, AppError> {
        let catalogs = Arc::new(Catalogs::embedded()?);
        let mut templates = Handlebars::new();
        templates.set_strict_mode(true);
        // An indented partial would otherwise indent every line it renders — the lines of a
        // textarea's value too, so each save of a form added spaces to a description.
        templates.set_prevent_indent(true);
        let problem = |e: handlebars::TemplateError| AppError::Config(format!("templates: {e}"));
        match &config.templates_dir {
            Some(dir) => {
                // Dev mode re-reads each template from disk on every render.
                templates.set_dev_mode(true);
                templates
                    .register_templates_directory(dir, DirectorySourceOptions::default())
                    .map_err(problem)?;
            }
            None => templates
                .register_embed_templates_with_extension::<EmbeddedTemplates>(".hbs")
                .map_err(problem)?,
        }
        register_helpers(&mut templates, Arc::clone(&catalogs));
        let mut hash = Sha256::new();
        for name in Assets::iter() {
            if let Some(file) = Assets::get(&name) {
                hash.update(name.as_bytes());
                hash.update(&file.data);
            }
        }
        Ok(Self {
            templates,
            catalogs,
            asset_version: hex::encode(&hash.finalize()[..6]),
        })
    }

    pub fn render(&self, template: &str, data: &serde_json::Value) -> Result<String, AppError> {
        self.templates
            .render(template, data)
            .map_err(|e| AppError::Internal(format!("template {template}: {e}")))
    }
}

/// The `lang` attribute text of another language needs inside a page in `page` (` lang="en"`
/// for a team's English name on a Chinese page, ` lang="zh-CN"` the other way round), so
/// screen readers and fonts treat it right; empty when the text is in the page's language
/// or has no letters (an id of digits, a number).
pub fn lang_attribute(page: Lang, text: &str) -> &'static str {
    let chinese = text.chars().any(|c| {
        matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
    });
    let latin = text.chars().any(|c| c.is_ascii_alphabetic());
    match page {
        Lang::Zh if latin && !chinese => " lang=\"en\"",
        Lang::En if chinese => " lang=\"zh-CN\"",
        _ => "",
    }
}

/// Every helper the templates use, registered here and nowhere else.
fn register_helpers(templates: &mut Handlebars<'static>, catalogs: Arc<Catalogs>) {
    // `<span{{lang_of name}}>{{name}}</span>`: a `lang` attribute where the text is in the
    // other language than the page (see `lang_attribute`).
    templates.register_helper(
        "lang_of",
        Box::new(
            |h: &Helper,
             _: &Handlebars,
             ctx: &Context,
             _: &mut RenderContext,
             out: &mut dyn Output|
             -> HelperResult {
                let text = h.param(0).and_then(|p| p.value().as_str()).unwrap_or("");
                let lang = ctx
                    .data()
                    .get("lang")
                    .and_then(|l| l.as_str())
                    .and_then(Lang::parse)
                    .unwrap_or_default();
                out.write(lang_attribute(lang, text))?;
                Ok(())
            },
        ),
    );
    // `{{t "key" name=value}}`: the message in the page's language (`@root.lang`).
    templates.register_helper(
        "t",
        Box::new(
            move |h: &Helper,
                  _: &Handlebars,
                  ctx: &Context,
                  _: &mut RenderContext,
                  out: &mut dyn Output|
                  -> HelperResult {
                let key = h
                    .param(0)
                    .and_then(|p| p.value().as_str())
                    .ok_or(RenderErrorReason::ParamNotFoundForIndex("t", 0))?;
                let lang = ctx
                    .data()
                    .get("lang")
                    .and_then(|l| l.as_str())
                    .and_then(Lang::parse)
                    .unwrap_or_default();
                let mut text = catalogs.text(lang, key);
                for (name, value) in h.hash() {
                    let value = match value.value() {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    text = text.replace(&format!("{{{name}}}"), &value);
                }
                out.write(&handlebars::html_escape(&text))?;
                Ok(())
            },
        ),
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn both_catalogs_have_the_same_keys() {
        let zh = parse_catalog(ZH_CATALOG).unwrap();
        let en = parse_catalog(EN_CATALOG).unwrap();
        let only_zh: Vec<_> = zh.keys().filter(|k| !en.contains_key(*k)).collect();
        let only_en: Vec<_> = en.keys().filter(|k| !zh.contains_key(*k)).collect();
        assert!(
            only_zh.is_empty() && only_en.is_empty(),
            "only in zh: {only_zh:?}; only in en: {only_en:?}"
        );
        assert!(zh.len() > 20);
    }

    /// Chinese sentences take the full-width colon; an ASCII `: ` stays only where the text
    /// quotes something that must be typed as it is (an HTTP header), and no template joins
    /// a label and its value with one.
    #[test]
    fn chinese_texts_use_full_width_colons() {
        let zh = parse_catalog(ZH_CATALOG).unwrap();
        let verbatim = ["Content-Type: "];
        let chinese = |c: char| ('\u{4e00}'..='\u{9fff}').contains(&c);
        let ascii: Vec<_> = zh
            .iter()
            .filter(|(_, text)| text.chars().any(chinese))
            .filter(|(_, text)| {
                verbatim
                    .iter()
                    .fold((*text).clone(), |t, v| t.replace(v, ""))
                    .contains(": ")
            })
            .map(|(key, _)| key)
            .collect();
        assert!(ascii.is_empty(), "ASCII colons in Chinese texts: {ascii:?}");
        let joined: Vec<_> = EmbeddedTemplates::iter()
            .filter(|name| {
                let file = EmbeddedTemplates::get(name).unwrap();
                let text = String::from_utf8_lossy(&file.data).into_owned();
                text.contains("}}: ") || text.contains("}}:<")
            })
            .collect();
        assert!(
            joined.is_empty(),
            "templates joining a label and a value with an ASCII colon (use site.colon): {joined:?}"
        );
    }

    #[test]
    fn every_key_used_in_a_template_is_in_the_catalog() {
        let zh = parse_catalog(ZH_CATALOG).unwrap();
        let mut missing = Vec::new();
        for name in EmbeddedTemplates::iter() {
            let file = EmbeddedTemplates::get(&name).unwrap();
            let text = String::from_utf8_lossy(&file.data).into_owned();
            for piece in text.split("{{t \"").skip(1) {
                let key = piece.split('"').next().unwrap_or_default();
                if !zh.contains_key(key) {
                    missing.push(format!("{name}: {key}"));
                }
            }
        }
        assert!(missing.is_empty(), "{missing:?}");
    }

    #[test]
    fn text_in_the_other_language_is_marked() {
        assert_eq!(lang_attribute(Lang::Zh, "Team A"), " lang=\"en\"");
        assert_eq!(lang_attribute(Lang::Zh, "长安智算 Lab"), "");
        assert_eq!(lang_attribute(Lang::Zh, "2026"), "");
        assert_eq!(lang_attribute(Lang::En, "长安智算"), " lang=\"zh-CN\"");
        assert_eq!(lang_attribute(Lang::En, "Team A"), "");
        let mut hb = Handlebars::new();
        register_helpers(&mut hb, Arc::new(Catalogs::embedded().unwrap()));
        let out = hb
            .render_template(
                "<span{{lang_of name}}>{{name}}</span>",
                &serde_json::json!({"lang": "zh", "name": "Team A"}),
            )
            .unwrap();
        assert_eq!(out, "<span lang=\"en\">Team A</span>");
    }

    #[test]
    fn templates_compile_and_the_helper_escapes() {
        let site = Site::new(&Config::default()).unwrap();
        assert!(site.templates.has_template("layout/base"));
        let mut hb = Handlebars::new();
        let mut catalogs = Catalogs::embedded().unwrap();
        catalogs.en.insert("x".into(), "<b>{name}</b>".into());
        register_helpers(&mut hb, Arc::new(catalogs));
        let out = hb
            .render_template(
                "{{t \"x\" name=who}}",
                &serde_json::json!({"lang": "en", "who": "A&B"}),
            )
            .unwrap();
        assert_eq!(out, "&lt;b&gt;A&amp;B&lt;/b&gt;");
    }
}
