//! Recipe files → typed recipes, and the diagnostics for every kind of mistake.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use patcher::path::PathExpr;
use patcher::recipe::{
    Cond, FileRule, Match, NewValue, Origin, Recipe, RecipeError, Rule, StepSelector, When, load,
    parse_str,
};
use serde_json::json;

const FILE: &str = "recipes/web.kdl";

fn parse(src: &str) -> Vec<Recipe> {
    match parse_str(Path::new(FILE), src) {
        Ok(recipes) => recipes,
        Err(err) => panic!("unexpected error:\n{}", err.render_plain()),
    }
}

fn error(src: &str) -> RecipeError {
    match parse_str(Path::new(FILE), src) {
        Ok(recipes) => panic!("expected an error, got {recipes:#?}"),
        Err(err) => err,
    }
}

/// Exactly one problem, at `line:col`, whose message and help contain the given texts;
/// the plain rendering names the spot and carries the help.
fn one_error(src: &str, line_col: &str, message: &str, help: &str) -> String {
    let err = error(src);
    let rendered = err.render_plain();
    assert_eq!(
        err.diagnostics().len(),
        1,
        "expected one problem:\n{rendered}"
    );
    let display = err.to_string();
    let at = format!("{FILE}:{line_col}: ");
    assert!(
        display.starts_with(&at),
        "`{display}` should start with `{at}`"
    );
    assert!(
        display.contains(message),
        "`{display}` should contain `{message}`"
    );
    assert!(
        rendered.contains(&at),
        "rendering should name {at}:\n{rendered}"
    );
    assert!(
        rendered.contains("help: "),
        "rendering should have a help line:\n{rendered}"
    );
    let d = &err.diagnostics()[0];
    let help_text = d.help_text().unwrap_or_default();
    assert!(
        help_text.contains(help),
        "help `{help_text}` should contain `{help}`"
    );
    rendered
}

fn path(p: &str) -> PathExpr {
    PathExpr::parse(p).unwrap()
}

fn origin(line: usize, col: usize) -> Origin {
    Origin {
        file: Arc::new(PathBuf::from(FILE)),
        line,
        col,
    }
}

/// Wraps rules in a recipe with one `file`.
fn in_file(rules: &str) -> String {
    format!("recipe \"r\" {{\n    file \"chart/templates/*.yaml\" {{\n{rules}\n    }}\n}}\n")
}

/// The rules of the only file of the only recipe.
fn rules_of(src: &str) -> Vec<Rule> {
    let mut recipes = parse(src);
    assert_eq!(recipes.len(), 1);
    let mut files = recipes.remove(0).files;
    assert_eq!(files.len(), 1);
    files.remove(0).rules
}

// ---------------------------------------------------------------------------------------
// The language
// ---------------------------------------------------------------------------------------

const FULL_EXAMPLE: &str = r#"recipe "name" {
    description "..."
    file "chart/templates/*.yaml" "other/*.yml" create=#false optional=#false {   // one or more globs
        match "/kind" "Deployment"                 // keep only documents whose pointer equals the value
        when "/metadata/name" equals "web"          // `when` allowed at file level too (document conditions)
        each "/spec/template/spec/containers/*" {  // `*` every item/key; `[key=value]` filters list items
            when "livenessProbe" exists            // also: missing, equals VALUE; paths in `each` are relative
            at-least "livenessProbe/initialDelaySeconds" 30   // also at-most
            each "env/*" {
                when "name" missing
                at-most "value" 2.5
            }
        }
        set "/spec/backoffLimit" 6                 // VALUE: string, integer, float, #true/#false, #null, or (yaml)"..."
        remove "/spec/template/spec/hostNetwork"
        ensure "/spec/template/spec/initContainers" key="name" merge=#false (yaml)"""
            name: wait-for-postgres
            image: busybox:1.36
            """
    }
}
"#;

#[test]
fn full_example_parses_to_the_expected_model() {
    let recipes = parse(FULL_EXAMPLE);
    let snippet = "name: wait-for-postgres\nimage: busybox:1.36\n";
    let expected = vec![Recipe {
        name: "name".into(),
        description: Some("...".into()),
        origin: origin(1, 1),
        files: vec![FileRule {
            globs: vec!["chart/templates/*.yaml".into(), "other/*.yml".into()],
            create: false,
            optional: false,
            values: None,
            matches: vec![Match {
                path: path("/kind"),
                value: json!("Deployment"),
                origin: origin(4, 9),
            }],
            whens: vec![When {
                path: path("/metadata/name"),
                cond: Cond::Equals(json!("web")),
                origin: origin(5, 9),
            }],
            rules: vec![
                Rule::Each {
                    path: path("/spec/template/spec/containers/*"),
                    whens: vec![When {
                        path: path("livenessProbe"),
                        cond: Cond::Exists,
                        origin: origin(7, 13),
                    }],
                    rules: vec![
                        Rule::AtLeast {
                            path: path("livenessProbe/initialDelaySeconds"),
                            value: 30.into(),
                            origin: origin(8, 13),
                        },
                        Rule::Each {
                            path: path("env/*"),
                            whens: vec![When {
                                path: path("name"),
                                cond: Cond::Missing,
                                origin: origin(10, 17),
                            }],
                            rules: vec![Rule::AtMost {
                                path: path("value"),
                                value: serde_json::Number::from_f64(2.5).unwrap(),
                                origin: origin(11, 17),
                            }],
                            origin: origin(9, 13),
                        },
                    ],
                    origin: origin(6, 9),
                },
                Rule::Set {
                    path: path("/spec/backoffLimit"),
                    value: NewValue {
                        value: json!(6),
                        yaml: None,
                    },
                    placement: None,
                    origin: origin(14, 9),
                },
                Rule::Remove {
                    path: path("/spec/template/spec/hostNetwork"),
                    origin: origin(15, 9),
                },
                Rule::Ensure {
                    path: path("/spec/template/spec/initContainers"),
                    key: "name".into(),
                    item: NewValue {
                        value: json!({"name": "wait-for-postgres", "image": "busybox:1.36"}),
                        yaml: Some(Arc::from(snippet)),
                    },
                    merge: false,
                    placement: None,
                    origin: origin(16, 9),
                },
            ],
            origin: origin(3, 5),
        }],
        texts: vec![],
        params: vec![],
        instance_of: None,
        args: vec![],
    }];
    assert_eq!(recipes, expected);
}

#[test]
fn design_doc_examples_parse() {
    let recipes = parse(
        r#"
recipe "migration-job" {
    description "Retries and a deadline for the migrations Job; wait for PostgreSQL first"
    file "chart/templates/migrations.yaml" {
        match "/kind" "Job"
        set "/spec/backoffLimit" 6
        set "/spec/activeDeadlineSeconds" 600
        set "/spec/template/spec/restartPolicy" "OnFailure"
        ensure "/spec/template/spec/initContainers" key="name" (yaml)"""
            name: wait-for-postgres
            image: busybox:1.36
            command: ['sh', '-c']
            args:
              - |
                until nc -z {{ .Release.Name }}-postgresql 5432; do sleep 5; done
            """
    }
}

recipe "ci-no-hpa" {
    file "chart/values-ci.yaml" create=#true {
        set "/viral_metrics/autoscaling/enabled" #false
    }
}
"#,
    );
    assert_eq!(recipes.len(), 2);
    let Rule::Ensure { item, merge, .. } = &recipes[0].files[0].rules[3] else {
        panic!("expected ensure: {:#?}", recipes[0].files[0].rules);
    };
    assert!(!merge);
    assert_eq!(
        item.value["args"][0],
        json!("until nc -z {{ .Release.Name }}-postgresql 5432; do sleep 5; done\n")
    );
    assert!(
        item.yaml
            .as_deref()
            .unwrap()
            .starts_with("name: wait-for-postgres\n")
    );
    assert!(recipes[1].files[0].create);
}

#[test]
fn kdl_values_become_json_values() {
    let rules = rules_of(&in_file(
        r##"
        set "/s" "text"
        set "/bare" web
        set "/raw" #"C:\no\escapes"#
        set "/i" -42
        set "/big" 18446744073709551615
        set "/hex" 0x1F
        set "/f" 1.5
        set "/t" #true
        set "/n" #null
        set "/y" (yaml)"[1, two]"
        set "/ystr" (yaml)"'quoted'"
        "##,
    ));
    let values: Vec<_> = rules
        .iter()
        .map(|r| match r {
            Rule::Set { value, .. } => value.clone(),
            other => panic!("expected set: {other:?}"),
        })
        .collect();
    let plain = |v| NewValue {
        value: v,
        yaml: None,
    };
    assert_eq!(
        values,
        vec![
            plain(json!("text")),
            plain(json!("web")),
            plain(json!(r"C:\no\escapes")),
            plain(json!(-42)),
            plain(json!(18446744073709551615u64)),
            plain(json!(31)),
            plain(json!(1.5)),
            plain(json!(true)),
            plain(json!(null)),
            NewValue {
                value: json!([1, "two"]),
                yaml: Some(Arc::from("[1, two]\n"))
            },
            NewValue {
                value: json!("quoted"),
                yaml: Some(Arc::from("'quoted'\n"))
            },
        ]
    );
}

#[test]
fn match_and_when_equals_take_the_same_values() {
    let recipes = parse(
        r#"recipe "r" {
    file "a.yaml" {
        match "/replicas" 3
        match "/labels" (yaml)"{app: web}"
        when "/enabled" equals #true
        when "/ports" equals (yaml)"[80, 443]"
    }
}"#,
    );
    let file = &recipes[0].files[0];
    let matches: Vec<_> = file.matches.iter().map(|m| m.value.clone()).collect();
    assert_eq!(matches, vec![json!(3), json!({"app": "web"})]);
    let conds: Vec<_> = file.whens.iter().map(|w| w.cond.clone()).collect();
    assert_eq!(
        conds,
        vec![Cond::Equals(json!(true)), Cond::Equals(json!([80, 443]))]
    );
}

#[test]
fn file_level_relative_paths_are_kept_as_parsed() {
    let rules = rules_of(&in_file("        set \"spec/replicas\" 2"));
    let Rule::Set { path, .. } = &rules[0] else {
        panic!()
    };
    assert!(!path.absolute);
    assert_eq!(path.to_string(), "spec/replicas");
}

#[test]
fn file_properties_and_ensure_merge_are_read() {
    let recipes = parse(
        r#"recipe "r" {
    file "chart/values-ci.yaml" create=#true optional=#true {
        ensure "/list" key="name" merge=#true (yaml)"name: x"
    }
}"#,
    );
    let file = &recipes[0].files[0];
    assert!(file.create && file.optional);
    assert!(matches!(&file.rules[0], Rule::Ensure { merge: true, key, .. } if key == "name"));
}

#[test]
fn empty_file_and_comment_only_file_have_no_recipes() {
    assert!(parse("").is_empty());
    assert!(parse("// nothing here\n/* still nothing */\n").is_empty());
}

#[test]
fn origins_count_lines_and_characters_from_one() {
    // CRLF line ends, a tab and a multi-byte character before the node.
    let src =
        "recipe \"r\" {\r\n  file \"a.yaml\" {\r\n\tset \"/é\" 1; remove \"/b\"\r\n  }\r\n}\r\n";
    let recipes = parse(src);
    assert_eq!(recipes[0].files[0].origin, origin(2, 3));
    let rules = &recipes[0].files[0].rules;
    assert_eq!(rules[0].origin(), &origin(3, 2));
    assert_eq!(rules[1].origin(), &origin(3, 14));
}

#[test]
fn slashdash_comments_out_nodes_and_entries() {
    let rules = rules_of(&in_file(
        "        /-sett \"/x\" 1\n        set \"/a\" /-\"b\" 1",
    ));
    assert_eq!(rules.len(), 1);
}

// ---------------------------------------------------------------------------------------
// Diagnostics
// ---------------------------------------------------------------------------------------

#[test]
fn kdl_syntax_errors_are_diagnostics_with_the_recipe_source() {
    let err = error("recipe \"r\" {\n    file \"a.yaml\" {\n        set \"/a\" 1.\n    }\n}\n");
    let rendered = err.render_plain();
    assert!(
        err.to_string().starts_with("recipes/web.kdl:3:18: "),
        "{err}"
    );
    assert!(rendered.contains("set \"/a\" 1."), "{rendered}");
    insta::assert_snapshot!(rendered);
}

#[test]
fn kdl_v1_keywords_get_a_v2_hint() {
    let rendered = one_error(
        &in_file("        set \"/a\" true"),
        "3:18",
        "Expected identifier string",
        "`#true`",
    );
    insta::assert_snapshot!(rendered);
}

#[test]
fn unknown_nodes_suggest_the_closest_name() {
    for (typo, fix) in [
        ("at-leats", "at-least"),
        ("sett", "set"),
        ("remve", "remove"),
    ] {
        let src = in_file(&format!("        {typo} \"/a\" 1"));
        let err = error(&src);
        let help = err.diagnostics()[0].help_text().unwrap().to_string();
        assert_eq!(help, format!("did you mean `{fix}`?"));
        assert!(
            err.to_string()
                .starts_with("recipes/web.kdl:3:9: unknown node"),
            "{err}"
        );
    }
    insta::assert_snapshot!(error(&in_file("        at-leats \"/a\" 30")).render_plain());
}

#[test]
fn unknown_nodes_list_the_valid_names_when_nothing_is_close() {
    let rendered = one_error(
        &in_file("        frobnicate \"/a\""),
        "3:9",
        "unknown node `frobnicate` inside `file`",
        "`match`, `when`, `each`, `set`, `remove`, `ensure`, `at-least`, `at-most`",
    );
    insta::assert_snapshot!(rendered);
}

#[test]
fn unknown_top_level_node_says_only_recipe_is_allowed() {
    let rendered = one_error(
        "recipes \"r\" {}\n",
        "1:1",
        "unknown node `recipes` at the top level",
        "`recipe`",
    );
    insta::assert_snapshot!(rendered);
}

#[test]
fn known_node_in_the_wrong_place_says_where_it_belongs() {
    let rendered = one_error(
        &in_file("        each \"/items/*\" {\n            match \"/kind\" \"Job\"\n        }"),
        "4:13",
        "`match` is not allowed inside `each`",
        "use `when`",
    );
    insta::assert_snapshot!(rendered);
    one_error(
        &in_file("        description \"x\""),
        "3:9",
        "`description` is not allowed inside `file`",
        "allowed inside `file`: `match`",
    );
}

#[test]
fn unknown_property_suggests_the_closest_name() {
    let rendered = one_error(
        "recipe \"r\" {\n    file \"a.yaml\" creat=#true {\n    }\n}\n",
        "2:19",
        "unknown property `creat` on `file`",
        "did you mean `create`?",
    );
    insta::assert_snapshot!(rendered);
    one_error(
        "recipe \"r\" {\n    file \"a.yaml\" mode=\"x\"\n}\n",
        "2:19",
        "unknown property `mode` on `file`",
        "`file` takes the properties `create`, `optional`",
    );
    one_error(
        &in_file("        set \"/a\" 1 force=#true"),
        "3:20",
        "unknown property `force` on `set`",
        "`set` takes the properties `after`, `before`",
    );
}

#[test]
fn property_given_twice_is_an_error() {
    let rendered = one_error(
        "recipe \"r\" {\n    file \"a.yaml\" create=#true create=#false\n}\n",
        "2:32",
        "property `create` is given twice",
        "keep one `create=`",
    );
    insta::assert_snapshot!(rendered);
}

#[test]
fn too_many_and_too_few_arguments_are_errors() {
    let rendered = one_error(
        &in_file("        set \"/a\" 1 2"),
        "3:20",
        "too many arguments to `set`: expected 2, found 3",
        "write it as `set \"/path\" VALUE`",
    );
    insta::assert_snapshot!("too_many_arguments", rendered);
    let rendered = one_error(
        &in_file("        set \"/a\""),
        "3:9",
        "`set` is missing a value",
        "write it as `set \"/path\" VALUE`",
    );
    insta::assert_snapshot!("too_few_arguments", rendered);
    one_error(
        &in_file("        remove"),
        "3:9",
        "`remove` is missing a path",
        "`remove \"/path\"`",
    );
    one_error(
        &in_file("        when \"/a\" equals 1 2"),
        "3:28",
        "expected at most 3, found 4",
        "when \"path\" exists",
    );
}

#[test]
fn arguments_of_the_wrong_type_are_errors() {
    let rendered = one_error(
        &in_file("        remove 42"),
        "3:16",
        "a path must be a string, found an integer",
        "\"/spec/replicas\"",
    );
    insta::assert_snapshot!(rendered);
    one_error(
        "recipe \"r\" {\n    file \"a.yaml\" create=\"yes\"\n}\n",
        "2:19",
        "`create` must be #true or #false, found a string",
        "create=#true",
    );
    one_error(
        "recipe \"r\" {\n    file #true\n}\n",
        "2:10",
        "a glob must be a string, found a boolean",
        "in quotes",
    );
    one_error(
        "recipe \"r\" {\n    description 1\n    file \"a\"\n}\n",
        "2:17",
        "the description must be a string, found an integer",
        "in quotes",
    );
}

#[test]
fn type_annotations_outside_values_are_errors() {
    one_error(
        &in_file("        remove (yaml)\"/a\""),
        "3:17",
        "a path takes no type annotation",
        "remove `(yaml)`",
    );
    one_error(
        &in_file("        (x)remove \"/a\""),
        "3:10",
        "`remove` does not take a type annotation",
        "remove `(x)`",
    );
}

#[test]
fn recipe_without_a_name_is_an_error() {
    let rendered = one_error(
        "recipe {\n    file \"a.yaml\"\n}\n",
        "1:1",
        "`recipe` is missing a name",
        "recipe \"name\"",
    );
    insta::assert_snapshot!(rendered);
    one_error(
        "recipe \"  \" {\n    file \"a.yaml\"\n}\n",
        "1:8",
        "the recipe name is empty",
        "name",
    );
}

#[test]
fn recipe_without_a_file_is_an_error() {
    let rendered = one_error(
        "recipe \"lonely\" {\n    description \"does nothing\"\n}\n",
        "1:1",
        "recipe `lonely` has no `file`",
        "add `file \"path/or/glob\" { ... }`",
    );
    insta::assert_snapshot!(rendered);
    one_error(
        "recipe \"bare\"\n",
        "1:1",
        "recipe `bare` has no `file`",
        "add `file",
    );
}

#[test]
fn description_given_twice_is_an_error() {
    let rendered = one_error(
        "recipe \"r\" {\n    description \"one\"\n    description \"two\"\n    file \"a.yaml\"\n}\n",
        "3:5",
        "`description` is given twice",
        "keep one `description`",
    );
    insta::assert_snapshot!(rendered);
}

#[test]
fn file_without_a_glob_is_an_error() {
    let rendered = one_error(
        "recipe \"r\" {\n    file {\n        set \"/a\" 1\n    }\n}\n",
        "2:5",
        "`file` is missing a glob",
        "file \"glob\"",
    );
    insta::assert_snapshot!(rendered);
}

#[test]
fn globs_must_stay_inside_the_repository_root() {
    let rendered = one_error(
        "recipe \"r\" {\n    file \"chart/../../etc/*.yaml\"\n}\n",
        "2:17",
        "`chart/../../etc/*.yaml` has a `..` segment: paths must stay inside the repository root",
        "relative to the repository root",
    );
    insta::assert_snapshot!("dotdot_glob", rendered);
    let rendered = one_error(
        "recipe \"r\" {\n    file \"a.yaml\" \"/etc/passwd\"\n}\n",
        "2:19",
        "`/etc/passwd` is absolute: paths must stay inside the repository root",
        "relative to the repository root",
    );
    insta::assert_snapshot!("absolute_glob", rendered);
    for glob in [r"C:\\charts\\a.yaml", r"\\\\server\\share", "..", "a/.."] {
        let err = error(&format!("recipe \"r\" {{\n    file \"{glob}\"\n}}\n"));
        assert!(
            err.to_string()
                .contains("paths must stay inside the repository root"),
            "{err}"
        );
    }
    // `..` inside a name is not a parent directory.
    parse("recipe \"r\" {\n    file \"chart/a..b.yaml\" \"...\"\n}\n");
}

#[test]
fn invalid_and_empty_globs_are_errors() {
    one_error(
        "recipe \"r\" {\n    file \"chart/[a.yaml\"\n}\n",
        "2:10",
        "invalid glob `chart/[a.yaml`",
        "globs use",
    );
    one_error(
        "recipe \"r\" {\n    file \"\"\n}\n",
        "2:10",
        "the glob is empty",
        "relative",
    );
}

#[test]
fn create_needs_literal_paths() {
    let rendered = one_error(
        "recipe \"r\" {\n    file \"chart/*.yaml\" create=#true\n}\n",
        "2:25",
        "`create=#true` needs literal file paths, but `chart/*.yaml` is a glob",
        "drop `create=#true`",
    );
    insta::assert_snapshot!(rendered);
}

#[test]
fn invalid_paths_point_into_the_path_string() {
    let rendered = one_error(
        &in_file("        set \"/spec/containers/[name]/image\" 1"),
        "3:31",
        "invalid path `/spec/containers/[name]/image`: selector `[name]` must look like `[key=value]`",
        "JSON Pointers",
    );
    insta::assert_snapshot!(rendered);
    one_error(
        &in_file("        remove \"/a//b\""),
        "3:20",
        "empty path segment",
        "JSON Pointers",
    );
    one_error(
        &in_file("        remove \"/a/\""),
        "3:19",
        "empty path segment",
        "JSON Pointers",
    );
    one_error(
        &in_file("        remove \"/a/~2\""),
        "3:20",
        "`~` must be followed by 0 or 1",
        "`~1`",
    );
    // With escapes in the literal the whole string is labelled.
    one_error(
        &in_file("        remove \"/\\u{61}//b\""),
        "3:16",
        "empty path segment",
        "JSON Pointers",
    );
}

#[test]
fn unknown_when_conditions_suggest_the_closest_one() {
    let rendered = one_error(
        &in_file("        when \"/a\" exist"),
        "3:19",
        "unknown condition `exist`",
        "did you mean `exists`?",
    );
    insta::assert_snapshot!(rendered);
    one_error(
        &in_file("        when \"/a\" present"),
        "3:19",
        "unknown condition `present`",
        "`exists`, `missing`, `equals`",
    );
    one_error(
        &in_file("        when \"/a\""),
        "3:9",
        "`when` is missing a condition",
        "when \"path\" exists",
    );
}

#[test]
fn equals_needs_a_value_and_exists_takes_none() {
    one_error(
        &in_file("        when \"/a\" equals"),
        "3:19",
        "`equals` needs a value after it",
        "equals VALUE",
    );
    one_error(
        &in_file("        when \"/a\" missing 3"),
        "3:27",
        "`missing` takes no value",
        "`equals VALUE`",
    );
}

#[test]
fn unknown_type_annotation_is_an_error() {
    let rendered = one_error(
        &in_file("        set \"/a\" (json)\"{}\""),
        "3:19",
        "unknown type annotation `(json)`; only `(yaml)` is supported",
        "drop `(json)`",
    );
    insta::assert_snapshot!(rendered);
    one_error(
        &in_file("        set \"/a\" (yaml)5"),
        "3:18",
        "`(yaml)` needs a string holding YAML, found an integer",
        "(yaml)\"...\"",
    );
}

#[test]
fn yaml_errors_point_at_the_line_inside_the_snippet() {
    let src = in_file(
        r#"        set "/a" (yaml)"""
            name: web
            ports: [80, 443
            image: x
            """"#,
    );
    let rendered = one_error(
        &src,
        "6:18",
        "invalid YAML in `(yaml)` snippet (line 3 of the snippet)",
        "valid YAML",
    );
    insta::assert_snapshot!(rendered);
    one_error(
        &in_file(r#"        set "/b" (yaml)"a: b: c""#),
        "3:29",
        "mapping values are not allowed",
        "valid YAML",
    );
}

#[test]
fn ensure_needs_a_key_and_a_mapping_with_that_key() {
    let rendered = one_error(
        &in_file("        ensure \"/list\" (yaml)\"name: x\""),
        "3:9",
        "`ensure` needs `key=` naming the field that identifies the list item",
        "key=\"name\"",
    );
    insta::assert_snapshot!("ensure_without_key", rendered);
    let rendered = one_error(
        &in_file("        ensure \"/list\" key=\"name\" (yaml)\"image: x\""),
        "3:35",
        "the `ensure` item has no `name` key",
        "add `name: ...` to the item",
    );
    insta::assert_snapshot!("ensure_item_without_key_field", rendered);
    one_error(
        &in_file("        ensure \"/list\" key=\"name\" \"web\""),
        "3:35",
        "the `ensure` item must be a mapping, found a string",
        "YAML mapping",
    );
    one_error(
        &in_file("        ensure \"/list\" key=1 (yaml)\"1: x\""),
        "3:24",
        "`key` must be a string",
        "key=\"name\"",
    );
    one_error(
        &in_file("        ensure \"/list\" key=\"name\" merge=\"yes\" (yaml)\"name: x\""),
        "3:35",
        "`merge` must be #true or #false",
        "merge=#true",
    );
}

#[test]
fn at_least_and_at_most_need_numbers() {
    let rendered = one_error(
        &in_file("        at-least \"/replicas\" \"2\""),
        "3:30",
        "`at-least` needs a number, found a string",
        "without quotes",
    );
    insta::assert_snapshot!(rendered);
    one_error(
        &in_file("        at-most \"/r\" #null"),
        "3:22",
        "`at-most` needs a number, found null",
        "30",
    );
}

#[test]
fn numbers_json_cannot_hold_are_errors() {
    one_error(
        &in_file("        set \"/a\" 99999999999999999999999"),
        "3:18",
        "does not fit in 64 bits",
        "smaller number",
    );
    one_error(
        &in_file("        set \"/a\" #inf"),
        "3:18",
        "cannot be written as values",
        "finite",
    );
}

#[test]
fn blocks_are_required_on_each_and_refused_on_leaves() {
    let rendered = one_error(
        &in_file("        each \"/items/*\""),
        "3:9",
        "`each` needs a `{ ... }` block",
        "each \"/spec/template/spec/containers/*\" { ... }",
    );
    insta::assert_snapshot!("each_without_block", rendered);
    let rendered = one_error(
        &in_file("        set \"/a\" 1 {\n            remove \"/b\"\n        }"),
        "3:20",
        "`set` does not take a `{ ... }` block",
        "remove the block",
    );
    insta::assert_snapshot!("leaf_with_block", rendered);
}

#[test]
fn duplicate_recipe_names_point_at_the_second_and_name_the_first() {
    let src =
        "recipe \"web\" {\n    file \"a.yaml\"\n}\n\nrecipe \"web\" {\n    file \"b.yaml\"\n}\n";
    let rendered = one_error(
        src,
        "5:8",
        "duplicate recipe name `web`: it is already defined at recipes/web.kdl:1:1",
        "rename one of them",
    );
    assert!(rendered.contains("first defined here"), "{rendered}");
    insta::assert_snapshot!(rendered);
}

#[test]
fn all_problems_in_a_file_are_reported_together() {
    let src = r#"recipe "r" {
    file "a.yaml" creat=#true {
        sett "/a" 1
        remove "/a//b"
        at-least "/n" "x"
    }
}
recipe {
}
"#;
    let err = error(src);
    let at: Vec<String> = err
        .diagnostics()
        .iter()
        .map(|d| format!("{}:{}", d.line().unwrap(), d.col().unwrap()))
        .collect();
    assert_eq!(at, ["2:19", "3:9", "4:20", "5:23", "8:1", "8:1"]);
    assert!(err.to_string().ends_with("(and 5 more problems)"), "{err}");
    let rendered = err.render_plain();
    for d in err.diagnostics() {
        assert!(
            rendered.contains(&d.to_string()),
            "missing `{d}` in:\n{rendered}"
        );
    }
    insta::assert_snapshot!(rendered);
}

// ---------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------

fn write(dir: &Path, rel: &str, text: &[u8]) -> PathBuf {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

fn recipe_text(name: &str) -> String {
    format!("recipe \"{name}\" {{\n    file \"{name}.yaml\"\n}}\n")
}

#[test]
fn load_reads_directories_recursively_in_name_order_and_only_kdl_files() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "b.kdl", recipe_text("b").as_bytes());
    write(dir.path(), "a.kdl", recipe_text("a").as_bytes());
    write(dir.path(), "nested/c.kdl", recipe_text("c").as_bytes());
    write(dir.path(), "notes.md", b"not a recipe");
    let extra = write(
        dir.path(),
        "elsewhere/x.recipe",
        recipe_text("x").as_bytes(),
    );

    let set = load(&[dir.path().join("nested"), dir.path().to_path_buf(), extra]).unwrap();
    let names: Vec<_> = set.recipes.iter().map(|r| r.name.as_str()).collect();
    // `nested/c.kdl` is read once, when first reached; an explicitly named file is read
    // whatever its extension.
    assert_eq!(names, ["c", "a", "b", "x"]);
    assert_eq!(*set.recipes[1].origin.file, dir.path().join("a.kdl"));
}

#[test]
fn load_reports_duplicate_names_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let first = write(dir.path(), "a.kdl", recipe_text("web").as_bytes());
    let second = write(
        dir.path(),
        "b.kdl",
        format!("\n{}", recipe_text("web")).as_bytes(),
    );
    let err = load(&[dir.path().to_path_buf()]).unwrap_err();
    assert_eq!(err.diagnostics().len(), 1);
    let display = err.to_string();
    let expected = format!(
        "{}:2:8: duplicate recipe name `web`: it is already defined at {}:1:1",
        second.display(),
        first.display()
    );
    assert_eq!(display, expected);
}

#[test]
fn load_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.kdl");
    let latin1 = write(dir.path(), "latin1.kdl", b"recipe \"caf\xe9\" {}\n");
    let good = write(dir.path(), "good.kdl", recipe_text("good").as_bytes());
    let bad = write(
        dir.path(),
        "bad.kdl",
        b"recipe \"r\" {\n    sett \"x\"\n    file \"a\"\n}\n",
    );
    let err = load(&[missing.clone(), latin1.clone(), good, bad.clone()]).unwrap_err();
    let lines: Vec<String> = err.diagnostics().iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            format!("{}: recipe path does not exist", missing.display()),
            format!(
                "{}: recipe file is not UTF-8 text (invalid byte at offset 11)",
                latin1.display()
            ),
            format!("{}:2:5: unknown node `sett` inside `recipe`", bad.display()),
        ]
    );
    let rendered = err.render_plain();
    assert!(
        rendered.contains("help: save the recipe file as UTF-8"),
        "{rendered}"
    );
    assert!(rendered.contains("help: pass recipe files"), "{rendered}");
}

#[test]
fn load_of_nothing_is_an_empty_set() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        load(&[dir.path().to_path_buf()])
            .unwrap()
            .recipes
            .is_empty()
    );
    assert!(load(&[]).unwrap().recipes.is_empty());
}

// ---------------------------------------------------------------------------------------
// Robustness
// ---------------------------------------------------------------------------------------

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    const TOKENS: &[&str] = &[
        "recipe",
        "file",
        "each",
        "when",
        "match",
        "set",
        "remove",
        "ensure",
        "at-least",
        "at-most",
        "description",
        "param",
        "use",
        "\"catalog:job-retries\"",
        "\"nope.kdl:r\"",
        "\"{a}\"",
        "\"x{a}/{{a}}\"",
        "type=\"int\"",
        "backoff=\"8\"",
        "files=\"../{a}\"",
        "a=1",
        "name=\"n\"",
        "exists",
        "missing",
        "equals",
        "\"r\"",
        "\"/a/*\"",
        "\"a/[k=v]\"",
        "\"../x\"",
        "\"/\"",
        "\"\"",
        "\"/a//b~\"",
        "1",
        "-2",
        "3.5",
        "#true",
        "#null",
        "#inf",
        "key=\"name\"",
        "merge=#true",
        "create=#true",
        "x=1",
        "(yaml)",
        "(json)",
        "\"\"\"\n  a: [\n  \"\"\"",
        "\"a: b\"",
        "\"é\"",
        "{",
        "}",
        "\n",
        ";",
        " ",
        "/-",
        "//c\n",
        "\r\n",
        "\t",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn on_arbitrary_text(src in any::<String>()) {
            if let Err(err) = parse_str(Path::new("fuzz.kdl"), &src) {
                let _ = err.render_plain();
            }
        }

        #[test]
        fn on_recipe_shaped_token_soup(tokens in proptest::collection::vec(0..TOKENS.len(), 0..60)) {
            let src: String = tokens.iter().map(|&i| format!("{} ", TOKENS[i])).collect();
            if let Err(err) = parse_str(Path::new("fuzz.kdl"), &src) {
                let _ = err.render_plain();
                let _ = err.to_string();
            }
        }
    }
}

// --- workflow step selectors ------------------------------------------------------------

fn workflow(rules: &str) -> String {
    format!("recipe \"r\" {{\n    file \".github/workflows/*.yml\" {{\n{rules}\n    }}\n}}\n")
}

fn selector(rule: &Rule) -> &StepSelector {
    match rule {
        Rule::Step { selector, .. } => selector,
        other => panic!("not a step: {other:?}"),
    }
}

#[test]
fn step_selectors_keep_their_wildcards_in_every_field() {
    let rules = rules_of(&workflow(
        "        step \"Deploy *\" job=\"deploy-?\" id=\"helm*\" uses=\"azure/*@v?\" {\n            set \"timeout-minutes\" 10\n        }",
    ));
    assert_eq!(
        selector(&rules[0]),
        &StepSelector {
            name: Some("Deploy *".into()),
            job: Some("deploy-?".into()),
            id: Some("helm*".into()),
            uses: Some("azure/*@v?".into()),
        }
    );
}

#[test]
fn step_without_a_selector_is_every_step_and_job_alone_is_every_step_of_the_job() {
    let rules = rules_of(&workflow(
        "        step {\n            command \"kubectl apply\" {\n                flag \"--server-side\"\n            }\n        }\n        step job=\"deploy\" {\n            set \"timeout-minutes\" 10\n        }",
    ));
    assert_eq!(selector(&rules[0]), &StepSelector::default());
    assert_eq!(
        selector(&rules[1]),
        &StepSelector {
            job: Some("deploy".into()),
            ..StepSelector::default()
        }
    );
}

#[test]
fn file_level_command_without_path_is_a_command_in_every_step() {
    let rules = rules_of(&workflow(
        "        command \"helm upgrade\" {\n            flag \"--wait\"\n        }",
    ));
    let [
        Rule::Step {
            selector,
            rules,
            origin: step_origin,
        },
    ] = rules.as_slice()
    else {
        panic!("expected one step rule: {rules:?}");
    };
    assert_eq!(selector, &StepSelector::default());
    let [
        Rule::Command {
            words,
            path,
            origin: cmd_origin,
            ..
        },
    ] = rules.as_slice()
    else {
        panic!("expected one command: {rules:?}");
    };
    assert_eq!(words, &["helm", "upgrade"]);
    assert_eq!(path.to_string(), "run");
    // Warnings about it point at the `command` line.
    assert_eq!(step_origin, &origin(3, 9));
    assert_eq!(cmd_origin, &origin(3, 9));
}

#[test]
fn file_level_command_with_a_path_edits_that_path_only() {
    let rules = rules_of(&workflow(
        "        command \"helm upgrade\" path=\"/jobs/deploy/steps/0/run\" {\n            flag \"--wait\"\n        }",
    ));
    assert!(
        matches!(&rules[..], [Rule::Command { path, .. }] if path.to_string() == "/jobs/deploy/steps/0/run"),
        "{rules:?}"
    );
}

#[test]
fn retry_in_a_step_without_name_id_or_uses_is_an_error() {
    let rendered = one_error(
        &workflow("        step job=\"deploy\" {\n            retry attempts=3\n        }"),
        "4:13",
        "`retry` is not allowed in a `step` without a name, `id=` or `uses=`: it would retry every step of job `deploy`",
        "name the steps to retry",
    );
    assert!(rendered.contains("needs selected steps"), "{rendered}");
    one_error(
        &workflow("        step {\n            retry\n        }"),
        "4:13",
        "it would retry every step",
        "step \"Deploy*\" { retry attempts=3 }",
    );
}

#[test]
fn retry_in_a_wildcard_step_is_allowed() {
    let rules = rules_of(&workflow(
        "        step \"Deploy*\" {\n            retry attempts=2 delay=5\n        }",
    ));
    assert!(
        matches!(&rules[0], Rule::Step { rules, .. } if matches!(rules[..], [Rule::Retry { attempts: 2, delay: 5, .. }])),
        "{rules:?}"
    );
}

#[test]
fn empty_step_selectors_are_errors() {
    one_error(
        &workflow("        step \"\" {\n            set \"x\" 1\n        }"),
        "3:14",
        "the step name is empty: it would match nothing",
        "`step { ... }` with no selector is every step",
    );
    one_error(
        &workflow("        step job=\"\" {\n            set \"x\" 1\n        }"),
        "3:14",
        "`job` is empty",
        "globs: `*` any characters, `?` one",
    );
}

#[test]
fn insert_step_is_not_allowed_inside_step() {
    one_error(
        &workflow(
            "        step {\n            insert-step after=\"Checkout\" (yaml)\"name: x\\nrun: echo\"\n        }",
        ),
        "4:13",
        "`insert-step` is not allowed inside `step`",
        "allowed inside `step`:",
    );
}

#[test]
fn readme_recipe_examples_parse() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let blocks: Vec<&str> = readme
        .split("```kdl\n")
        .skip(1)
        .filter_map(|b| b.split("\n```").next())
        .collect();
    assert!(blocks.len() >= 3, "README has its kdl examples");
    for block in blocks {
        if let Err(err) = parse_str(Path::new("README.md"), block) {
            panic!("README example does not parse:\n{}", err.render_plain());
        }
    }
}
