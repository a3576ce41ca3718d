//! The dashboard in a real headless browser (Debian's chromium through
//! chromedriver, WebDriver) against a seeded `touchline demo`: every page
//! loads without console errors, shows the numbers the API gives for the
//! same query, changes when a filter changes, exports every table as CSV in
//! one click, has labels, contrast and keyboard navigation, and shows no
//! amount to the service role. Screenshots of every page land in
//! `target/dashboard-screenshots/` (or `$TOUCHLINE_DASHBOARD_SCREENSHOTS`).
//!
//! Needs no Kafka. Fails, naming the package, when chromium or chromedriver
//! is missing (`bash deploy/system-deps.sh` installs both).

#![allow(clippy::unwrap_used)]

#[path = "dashboard/browser.rs"]
mod browser;
#[path = "dashboard/campaign_pages.rs"]
mod campaign_pages;
mod support;

use std::collections::HashMap;

use browser::{ADMIN, Browser, Demo, SERVICE, close_to, money_close, ratio_close};
use serde_json::Value;

fn row_by<'a>(
    rows: &'a [HashMap<String, String>],
    key: &str,
    value: &str,
) -> &'a HashMap<String, String> {
    rows.iter()
        .find(|r| r.get(key).map(String::as_str) == Some(value))
        .unwrap_or_else(|| panic!("no row with {key} = {value:?} in {rows:?}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_shows_the_apis_numbers_and_follows_its_filters() {
    let demo = Demo::start();
    let browser = Browser::open(&demo.addr).await;
    browser.sign_in(ADMIN).await;
    browser.settled("overview", 0).await;
    browser.assert_clean_console("login").await;

    keyboard(&browser).await;
    overview(&demo, &browser).await;
    campaign_pages::campaigns(&demo, &browser).await;
    campaign_pages::campaign(&demo, &browser).await;
    conversion(&demo, &browser).await;
    funnel(&demo, &browser).await;
    pipeline(&demo, &browser).await;
    account(&demo, &browser).await;
    data_driven(&demo, &browser).await;
    what_if(&demo, &browser).await;
    browser.close().await;
}

/// The overview's credit table joins three attribution reports: leads,
/// deals created (pipeline) and deals won (revenue), per campaign or channel.
fn overview_credit(
    demo: &Demo,
    rows: &[HashMap<String, String>],
    model: &str,
    by: &str,
    period: &str,
) {
    let key = if by == "campaign" {
        "campaign_name"
    } else {
        "group"
    };
    for (conversion, count, value) in [
        ("lead_created", "leads", None),
        ("opportunity_created", "created", Some("pipeline")),
        ("opportunity_won", "won", Some("revenue")),
    ] {
        let api = demo.api(
            &format!(
                "/v1/reports/attribution?model={model}&conversion={conversion}&by={by}{period}&limit=10000"
            ),
            ADMIN,
        );
        for credit in api.as_array().unwrap() {
            let name = credit[key].as_str().unwrap();
            let row = row_by(rows, "name", name);
            close_to(&row[count], f(&credit["conversions"]), 1, name);
            if let Some(value) = value {
                money_close(&row[value], f(&credit["value_minor"]), name);
            }
        }
    }
}

/// Everything is reachable from the keyboard: the skip link moves the focus
/// to the page (and stays on it), a menu link opens its page and focuses its
/// title, a column header sorts, a filter changes the view.
async fn keyboard(browser: &Browser) {
    use fantoccini::key::Key;
    // A page opened puts the focus on its title; the skip link is before.
    browser.open_page("overview").await;
    assert_eq!(browser.focused().await.0, "H1#page-title");
    browser
        .tab_to("the skip link", "e.classList.contains('skip')", 20, true)
        .await;
    let hash = browser.hash().await;
    browser.press(Key::Enter).await;
    browser
        .wait(
            "the focus on the page",
            "return document.activeElement.id === 'main'",
        )
        .await;
    assert_eq!(browser.hash().await, hash, "the skip link keeps the page");
    assert_eq!(
        browser
            .js("return document.getElementById('main').dataset.page")
            .await,
        "overview"
    );

    // From the page back up into the menu.
    browser
        .tab_to(
            "the menu's Campaigns",
            "e.dataset.page === 'campaigns'",
            20,
            true,
        )
        .await;
    let before = browser.loads().await;
    browser.press(Key::Enter).await;
    browser.settled("campaigns", before).await;
    assert_eq!(browser.focused().await.0, "H1#page-title");

    // A column header is a button: Enter sorts by it.
    browser
        .tab_to(
            "the Members header",
            "e.closest('th')?.dataset.key === 'members'",
            40,
            false,
        )
        .await;
    let before = browser.loads().await;
    browser.press(Key::Enter).await;
    browser.settled("campaigns", before).await;
    assert!(
        browser.hash().await.contains("sort=members"),
        "{}",
        browser.hash().await
    );
    // A filter: the arrow key picks the next model, the page follows.
    browser
        .js("document.getElementById('filter-model').focus(); return true")
        .await;
    let before = browser.loads().await;
    browser.press(Key::Down).await;
    browser.settled("campaigns", before).await;
    assert!(
        browser.hash().await.contains("model="),
        "{}",
        browser.hash().await
    );
}

async fn overview(demo: &Demo, browser: &Browser) {
    browser.open_page("overview?model=linear").await;
    browser.assert_clean_console("overview").await;
    let rows = browser.rows("table-credit").await;
    let campaigns = demo.api("/v1/campaigns?limit=10000", ADMIN);
    // Every campaign that has credit, and the unattributed leads' "(no touch)".
    assert!(rows.len() >= 15, "{rows:?}");
    assert!(rows.len() <= campaigns.as_array().unwrap().len() + 1);
    overview_credit(demo, &rows, "linear", "campaign", "");
    let leads = demo.api(
        "/v1/reports/attribution?model=linear&conversion=lead_created&limit=10000",
        ADMIN,
    );
    let won = demo.api(
        "/v1/reports/attribution?model=linear&conversion=opportunity_won&limit=10000",
        ADMIN,
    );
    let sum = |v: &Value, field: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| f(&r[field]))
            .sum::<f64>()
    };
    close_to(
        &browser.kpi("kpi-leads").await,
        sum(&leads, "conversions"),
        1,
        "leads credited",
    );
    money_close(
        &browser.kpi("kpi-revenue").await,
        sum(&won, "value_minor"),
        "revenue credited",
    );
    assert_eq!(browser.kpi("kpi-period").await, "all time");
    // The two leads without a touch, with their reason.
    let unattributed = demo.api(
        "/v1/reports/unattributed?model=linear&conversion=lead_created",
        ADMIN,
    );
    let shown = browser.rows("table-unattributed").await;
    assert_eq!(shown.len(), unattributed.as_array().unwrap().len());
    for reason in unattributed.as_array().unwrap() {
        let row = row_by(
            &shown,
            "reason",
            &reason["reason"].as_str().unwrap().replace('_', " "),
        );
        close_to(
            &row["conversions"],
            f(&reason["conversions"]),
            0,
            "unattributed",
        );
        for example in reason["examples"].as_array().unwrap() {
            assert!(
                row["examples"].contains(example.as_str().unwrap()),
                "{row:?}"
            );
        }
    }
    let walk_ins: f64 = unattributed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| f(&r["conversions"]))
        .sum();
    assert!(
        walk_ins >= browser::UNTOUCHED_LEADS.len() as f64,
        "{unattributed}"
    );
    close_to(
        &browser.kpi("kpi-unattributed").await,
        walk_ins,
        0,
        "unattributed",
    );
    browser.check_exports(demo, "overview").await;
    browser.assert_accessible("overview").await;

    // The comparison draws every configured model's value per campaign.
    browser
        .choose("overview", "conversion", "opportunity_created")
        .await;
    let compare = demo.api(
        "/v1/reports/compare?conversion=opportunity_created&limit=10000",
        ADMIN,
    );
    let chart = browser.chart("chart-compare").await;
    let mut models: Vec<&Value> = compare
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["models"].as_array().unwrap().iter().map(|m| &m["model"]))
        .collect();
    models.sort_by_key(|m| m.to_string());
    models.dedup();
    let datasets = chart["datasets"].as_array().unwrap();
    assert_eq!(datasets.len(), models.len());
    assert!(
        models.len() >= 3,
        "first touch, last touch and more: {models:?}"
    );
    for row in compare.as_array().unwrap() {
        let at = chart["labels"]
            .as_array()
            .unwrap()
            .iter()
            .position(|l| l == &row["campaign_name"])
            .unwrap();
        for m in row["models"].as_array().unwrap() {
            let dataset = datasets.iter().find(|d| d["key"] == m["model"]).unwrap();
            let drawn = f(&dataset["data"][at]);
            assert!((drawn - f(&m["value_minor"]) / 100.0).abs() < 1e-6, "{row}");
        }
    }
    let table = browser.rows("table-compare").await;
    for row in compare.as_array().unwrap() {
        let shown = row_by(&table, "name", row["campaign_name"].as_str().unwrap());
        for m in row["models"].as_array().unwrap() {
            money_close(
                &shown[m["model"].as_str().unwrap()],
                f(&m["value_minor"]),
                "compare",
            );
        }
    }
    browser.screenshot("overview").await;
    browser.check_exports(demo, "overview, deals created").await;

    // A filter changes the answer and stays in the URL.
    browser.choose("overview", "model", "first_touch").await;
    assert!(browser.hash().await.contains("model=first_touch"));
    let first_touch = browser.rows("table-credit").await;
    assert_ne!(first_touch, rows, "another model, other credit");
    overview_credit(demo, &first_touch, "first_touch", "campaign", "");
    browser.choose("overview", "by", "channel").await;
    let channels = browser.rows("table-credit").await;
    assert!(channels.len() < first_touch.len(), "{channels:?}");
    overview_credit(demo, &channels, "first_touch", "channel", "");
    browser.check_exports(demo, "overview, per channel").await;
    browser.enter("overview", "from", "2026-07-01").await;
    assert!(browser.hash().await.contains("from=2026-07-01"));
    assert_eq!(browser.kpi("kpi-period").await, "from 2026-07-01");
    let later = browser.rows("table-credit").await;
    assert_ne!(later, channels, "a shorter period, less credit");
    overview_credit(demo, &later, "first_touch", "channel", "&from=2026-07-01");
    browser.assert_clean_console("overview, filtered").await;
}

async fn conversion(demo: &Demo, browser: &Browser) {
    let signals = demo.api("/v1/reports/opportunity-signals?limit=10000", ADMIN);
    let opportunity = signals[0]["opportunity_id"].as_str().unwrap();
    let id = format!("opportunity_created:{opportunity}");
    browser.open_page(&format!("conversion?id={id}")).await;
    browser.assert_clean_console("conversion").await;
    let api = demo.api(&format!("/v1/conversions/{id}"), ADMIN);
    let rows = browser.rows("table-timeline").await;
    for result in api["results"].as_array().unwrap() {
        let model = result["model"].as_str().unwrap();
        let mut per_touch: HashMap<(String, String), f64> = HashMap::new();
        for credit in result["attribution"]["credits"].as_array().unwrap() {
            let at = credit["touch_occurred_at"].as_str().unwrap_or_default();
            *per_touch
                .entry((
                    format!("{} {}", &at[..10], &at[11..16]),
                    credit["campaign_id"].to_string(),
                ))
                .or_default() += f(&credit["weight"]);
        }
        let shown: f64 = rows
            .iter()
            .filter(|r| r[model] != "—")
            .map(|r| browser::number(&r[model]))
            .sum();
        let expected: f64 = per_touch.values().sum::<f64>() * 100.0;
        assert!(
            (shown - expected).abs() < 0.05 * rows.len() as f64 + 1e-6,
            "{model}: {shown} vs {expected}"
        );
    }
    let versions = browser.rows("table-versions").await;
    for result in api["results"].as_array().unwrap() {
        let row = versions
            .iter()
            .find(|r| browser::number(&r["version"]) == f(&result["version"]))
            .unwrap();
        assert!(!row["model"].is_empty());
    }
    let models: Vec<&str> = api["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["model"].as_str().unwrap())
        .collect();
    browser.screenshot("conversion").await;
    browser.check_exports(demo, "conversion").await;
    browser.assert_accessible("conversion").await;
    // The history of a deal that moved after it was created, if one of the
    // first open deals did.
    let (id, history) = signals
        .as_array()
        .unwrap()
        .iter()
        .take(20)
        .map(|s| {
            let id = format!(
                "opportunity_created:{}",
                s["opportunity_id"].as_str().unwrap()
            );
            let history = demo.api(&format!("/v1/conversions/{id}/history"), ADMIN);
            (id, history)
        })
        .max_by_key(|(_, h)| h["steps"].as_array().unwrap().len())
        .unwrap();
    assert_eq!(history["matches_stored"], true, "{history}");
    browser.open_page(&format!("conversion?id={id}")).await;
    history_rows(&history, models[0], browser.rows("table-history").await);
    browser.screenshot("conversion-history").await;
    browser.check_exports(demo, "conversion-history").await;
    browser.assert_accessible("conversion-history").await;
    // Another model's history: its versions, not the first model's.
    let last = models[models.len() - 1];
    browser.choose("conversion", "model", last).await;
    assert!(browser.hash().await.contains(&format!("model={last}")));
    history_rows(&history, last, browser.rows("table-history").await);
    let other = signals[1]["opportunity_id"].as_str().unwrap();
    browser
        .enter("conversion", "id", &format!("opportunity_created:{other}"))
        .await;
    assert_eq!(browser.kpi("kpi-subject").await, other);
    browser.assert_clean_console("conversion, another").await;
}

/// The history table shows every step the API gives, with `model`'s version
/// where it moved.
fn history_rows(history: &Value, model: &str, rows: Vec<HashMap<String, String>>) {
    let steps = history["steps"].as_array().unwrap();
    assert!(!steps.is_empty());
    assert_eq!(rows.len(), steps.len(), "{model}");
    assert!(steps[0]["reasons"][0] == "new_conversion");
    assert_eq!(rows[0]["reasons"], "new conversion");
    for (row, step) in rows.iter().zip(steps) {
        assert!(
            row["event"].ends_with(step["event_id"].as_str().unwrap()),
            "{row:?}"
        );
        close_to(
            &row["models"],
            step["models"].as_array().unwrap().len() as f64,
            0,
            "models moved",
        );
        if let Some(amount) = step["value"]["amount_minor"].as_f64() {
            money_close(&row["value"], amount, "value");
        }
        match step["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["model"] == model)
        {
            Some(moved) => close_to(&row["version"], f(&moved["version"]), 0, model),
            None => assert_eq!(row["version"], "unchanged"),
        }
    }
}

async fn funnel(demo: &Demo, browser: &Browser) {
    browser.open_page("funnel").await;
    browser.assert_clean_console("funnel").await;
    let api = demo.api("/v1/reports/funnel?limit=10000", ADMIN);
    let rows = browser.rows("table-funnel").await;
    assert_eq!(rows.len(), api.as_array().unwrap().len());
    for r in api.as_array().unwrap().iter().take(40) {
        let row = rows
            .iter()
            .find(|x| {
                x["month"] == r["month"].as_str().unwrap()
                    && x["source"] == r["source"].as_str().unwrap()
            })
            .unwrap();
        close_to(&row["new_leads"], f(&r["new_leads"]), 0, "new leads");
        close_to(
            &row["became_customers"],
            f(&r["became_customers"]),
            0,
            "customers",
        );
        ratio_close(
            &row["customer_rate"],
            &r["customer_rate"],
            true,
            "customer rate",
        );
    }
    let speed = demo.api("/v1/reports/speed-to-lead?limit=10000", ADMIN);
    let rows = browser.rows("table-speed").await;
    assert_eq!(rows.len(), speed.as_array().unwrap().len());
    for s in speed.as_array().unwrap() {
        let owner = match s["group"].as_str().unwrap() {
            "" => "(no owner)",
            owner => owner,
        };
        let row = row_by(&rows, "group", owner);
        close_to(&row["leads"], f(&s["leads"]), 0, "leads");
        match s["median_minutes"].as_f64() {
            Some(minutes) => close_to(&row["median"], minutes / 60.0, 1, "median hours"),
            None => assert_eq!(row["median"], "—", "{owner}: nobody followed up"),
        }
    }
    browser.screenshot("funnel").await;
    browser.check_exports(demo, "funnel").await;
    browser.assert_accessible("funnel").await;
    let source = api[0]["source"].as_str().unwrap().to_owned();
    browser.choose("funnel", "source", &source).await;
    let rows = browser.rows("table-funnel").await;
    let expected = api
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["source"] == source.as_str())
        .count();
    assert_eq!(rows.len(), expected);
    assert!(
        expected < api.as_array().unwrap().len(),
        "one source leaves rows out"
    );
    assert!(rows.iter().all(|r| r["source"] == source));
    browser.check_exports(demo, "funnel, one source").await;
    browser.assert_clean_console("funnel, filtered").await;
}

async fn pipeline(demo: &Demo, browser: &Browser) {
    browser.open_page("pipeline").await;
    browser.assert_clean_console("pipeline").await;
    let forecast = demo.api("/v1/reports/forecast", ADMIN);
    let rows = browser.rows("table-forecast").await;
    for m in forecast["months"].as_array().unwrap() {
        let row = row_by(&rows, "month", m["month"].as_str().unwrap());
        money_close(&row["weighted"], f(&m["weighted_minor"]), "weighted");
        money_close(&row["pipeline"], f(&m["pipeline_minor"]), "pipeline");
    }
    close_to(
        &browser.kpi("kpi-open").await,
        forecast["deals"].as_array().unwrap().len() as f64,
        0,
        "open deals",
    );
    let signals = demo.api("/v1/reports/opportunity-signals?limit=10000", ADMIN);
    assert_eq!(
        browser.rows("table-signals").await.len(),
        signals.as_array().unwrap().len()
    );
    browser.screenshot("pipeline").await;
    browser.check_exports(demo, "pipeline").await;
    browser.assert_accessible("pipeline").await;
    let owner = signals[0]["owner_id"].as_str().unwrap().to_owned();
    browser.choose("pipeline", "owner", &owner).await;
    let theirs = demo.api(
        &format!("/v1/reports/opportunity-signals?owner={owner}&limit=10000"),
        ADMIN,
    );
    let rows = browser.rows("table-signals").await;
    assert_eq!(rows.len(), theirs.as_array().unwrap().len());
    assert!(rows.len() < signals.as_array().unwrap().len());
    assert!(rows.iter().all(|r| r["owner"] == owner));
    browser.check_exports(demo, "pipeline, one owner").await;
    // Only the deals with a red signal, as the API colours them.
    browser.choose("pipeline", "colour", "red").await;
    let red = theirs
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["indicators"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["colour"] == "red")
        })
        .count();
    let rows = browser.rows("table-signals").await;
    assert_eq!(rows.len(), red);
    assert!(
        rows.iter().all(|r| browser::number(&r["red"]) > 0.0),
        "{rows:?}"
    );
    browser.assert_clean_console("pipeline, filtered").await;
}

/// An account with a deal, from the signals report.
fn some_accounts(demo: &Demo) -> (String, String) {
    let signals = demo.api("/v1/reports/opportunity-signals?limit=10000", ADMIN);
    let ids: Vec<&str> = signals
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["account_id"].as_str().unwrap())
        .collect();
    let first = ids[0].to_owned();
    let second = ids.iter().find(|&&id| id != first).unwrap().to_string();
    (first, second)
}

async fn account(demo: &Demo, browser: &Browser) {
    let (id, other) = some_accounts(demo);
    browser.open_page(&format!("account?id={id}")).await;
    browser.assert_clean_console("account").await;
    let record = demo.api(&format!("/v1/accounts/{id}"), ADMIN);
    assert_eq!(
        browser
            .js("return document.getElementById('account-name').textContent")
            .await,
        record["account"]["name"]
    );
    let deals = browser.rows("table-deals").await;
    for o in record["opportunities"].as_array().unwrap() {
        let row = row_by(&deals, "name", o["name"].as_str().unwrap());
        money_close(
            &row["amount"],
            f(&o["amount"]["amount_minor"]),
            "deal amount",
        );
    }
    assert_eq!(
        browser.rows("table-contacts").await.len(),
        record["contacts"].as_array().unwrap().len()
    );
    // The account's rep alerts, newest first.
    let alerts = record["account"]["recent_alerts"].as_array().unwrap();
    let shown = browser.rows("table-alerts").await;
    assert_eq!(shown.len(), alerts.len());
    if let (Some(row), Some(newest)) = (shown.first(), alerts.last()) {
        let name = newest["person_name"].as_str().unwrap();
        let expected = if name.is_empty() {
            newest["person_id"].as_str().unwrap()
        } else {
            name
        };
        assert_eq!(row["person"], expected, "{row:?}");
    }
    let interest = demo.api(&format!("/v1/accounts/{id}/interest"), ADMIN);
    let chart = browser.chart("chart-interest").await;
    for (i, topic) in interest.as_array().unwrap().iter().enumerate() {
        assert_eq!(chart["labels"][i], topic["topic"]);
        assert_eq!(f(&chart["datasets"][0]["data"][i]), f(&topic["touches"]));
    }
    browser.screenshot("account").await;
    browser.check_exports(demo, "account").await;
    browser.assert_accessible("account").await;
    browser.enter("account", "id", &other).await;
    let record = demo.api(&format!("/v1/accounts/{other}"), ADMIN);
    assert_eq!(
        browser
            .js("return document.getElementById('account-name').textContent")
            .await,
        record["account"]["name"]
    );
    browser.assert_clean_console("account, another").await;
}

async fn data_driven(demo: &Demo, browser: &Browser) {
    browser.open_page("data-driven").await;
    browser.assert_clean_console("data-driven").await;
    let check = |markov: Value, shapley: Value, rows: Vec<HashMap<String, String>>| {
        for c in markov["channels"].as_array().unwrap() {
            let row = row_by(&rows, "key", c["channel"].as_str().unwrap());
            close_to(&row["markov"], f(&c["share"]) * 100.0, 1, "markov share");
        }
        for c in shapley["channels"].as_array().unwrap() {
            let row = row_by(&rows, "key", c["channel"].as_str().unwrap());
            close_to(&row["shapley"], f(&c["share"]) * 100.0, 1, "shapley share");
        }
    };
    let won = browser.rows("table-data-driven").await;
    check(
        demo.api("/v1/reports/data-driven?model=markov&by=channel", ADMIN),
        demo.api("/v1/reports/data-driven?model=shapley&by=channel", ADMIN),
        won.clone(),
    );
    browser.screenshot("data-driven").await;
    browser.check_exports(demo, "data-driven").await;
    browser.assert_accessible("data-driven").await;
    browser
        .choose("data-driven", "conversion", "opportunity_created")
        .await;
    check(
        demo.api(
            "/v1/reports/data-driven?model=markov&by=channel&conversion=opportunity_created",
            ADMIN,
        ),
        demo.api(
            "/v1/reports/data-driven?model=shapley&by=channel&conversion=opportunity_created",
            ADMIN,
        ),
        browser.rows("table-data-driven").await,
    );
    assert_ne!(
        browser.rows("table-data-driven").await,
        won,
        "another conversion point, other credit"
    );
    browser.assert_clean_console("data-driven, filtered").await;
}

/// Console entries a service-role page may have: the API's 403 on the
/// reports it may not use, which the page shows as a notice.
fn refusals_only(console: &[(String, String)]) -> bool {
    console
        .iter()
        .filter(|(level, _)| level == "SEVERE" || level == "WARNING")
        .all(|(_, m)| m.contains("status of 403"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_role_sees_no_amount_and_a_bad_token_is_refused() {
    let demo = Demo::start();
    let browser = Browser::open(&demo.addr).await;
    // A token the API does not know brings the login back, saying so.
    browser.sign_in("not-a-token").await;
    browser
        .wait("the refusal", "const e = document.getElementById('login-error'); return !e.hidden && e.textContent.includes('unknown token')")
        .await;
    browser.console().await; // the refused request's 401

    browser.sign_in(SERVICE).await;
    browser.settled("overview", 0).await;
    // The drill-downs' routes are attribution: refused to service, as on every
    // attribution route, so no amount reaches the page.
    let opportunity =
        demo.api("/v1/reports/opportunity-signals?limit=1", ADMIN)[0]["opportunity_id"]
            .as_str()
            .unwrap()
            .to_owned();
    let conversion = format!("conversion?id=opportunity_created:{opportunity}");
    for path in [
        "/v1/campaigns/cmp-webinar-101/influence".to_owned(),
        format!("/v1/conversions/opportunity_created:{opportunity}/history"),
    ] {
        assert_eq!(demo.status(&path, SERVICE), 403, "{path}");
    }
    for page in [
        "overview",
        "campaigns",
        "funnel",
        "pipeline",
        "data-driven",
        "what-if",
        "campaign?id=cmp-webinar-101",
        conversion.as_str(),
    ] {
        browser.open_page(page).await;
        let text = browser.main_text().await;
        assert!(text.contains("role service may not use"), "{page}: {text}");
        assert!(!text.contains('€'), "{page}: {text}");
        assert!(refusals_only(&browser.console().await), "{page}");
        let name = page.split('?').next().unwrap();
        browser.screenshot(&format!("service-{name}")).await;
    }
    let (id, _) = some_accounts(&demo);
    // The API withholds the amounts; the page says so and shows none.
    let record = demo.api(&format!("/v1/accounts/{id}"), SERVICE);
    assert!(record["opportunities"][0]["amount"].is_null());
    browser.open_page(&format!("account?id={id}")).await;
    let text = browser.main_text().await;
    assert!(!text.contains('€'), "{text}");
    assert!(text.contains("withheld for your role"), "{text}");
    assert_eq!(browser.kpi("kpi-revenue").await, "withheld");
    let deals = browser.rows("table-deals").await;
    assert!(
        !deals.is_empty() && deals.iter().all(|d| d["amount"] == "withheld"),
        "{deals:?}"
    );
    assert!(refusals_only(&browser.console().await), "account");
    browser.screenshot("service-account").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_updates_while_the_engine_takes_events() {
    let demo = Demo::start();
    let browser = Browser::open(&demo.addr).await;
    browser.sign_in(ADMIN).await;
    browser.settled("overview", 0).await;
    browser.open_page("funnel").await;
    assert!(!browser.main_text().await.contains("rep-live-update"));
    // Re-routing a lead is an event the demo's engine applies; the open page
    // shows its new owner at the next poll, without a reload.
    let lead = demo.api("/v1/leads?limit=1", ADMIN)[0]["person_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = demo.post(
        &format!("/v1/leads/{lead}/route"),
        ADMIN,
        r#"{"owner_id":"rep-live-update","owner_kind":"internal","reason":"dashboard test"}"#,
    );
    assert_eq!(status, 202, "{body}");
    browser
        .wait(
            "the new owner in speed to lead",
            "return [...document.querySelectorAll('#table-speed tbody th')].some(c => c.textContent === 'rep-live-update')",
        )
        .await;
    browser.assert_clean_console("funnel, live").await;
    browser.close().await;
}

/// The what-if page: the model with the asked parameters beside the same model
/// as configured, both as the API answers them.
async fn what_if(demo: &Demo, browser: &Browser) {
    let check = |asked: Value, configured: Value, rows: Vec<HashMap<String, String>>| {
        for r in asked["rows"].as_array().unwrap() {
            let row = row_by(&rows, "group", r["name"].as_str().unwrap());
            close_to(
                &row["what_if"],
                f(&r["conversions"]),
                1,
                "what-if conversions",
            );
            money_close(&row["what_if_value"], f(&r["value_minor"]), "what-if value");
        }
        for r in configured["rows"].as_array().unwrap() {
            let row = row_by(&rows, "group", r["name"].as_str().unwrap());
            close_to(
                &row["configured"],
                f(&r["conversions"]),
                1,
                "configured conversions",
            );
        }
    };
    let base = "/v1/reports/what-if?model=linear&conversion=opportunity_won&by=channel";
    browser.open_page("what-if?model=linear").await;
    browser.assert_clean_console("what-if").await;
    let asked = demo.api(&format!("{base}&moved=true"), ADMIN);
    let configured = demo.api(base, ADMIN);
    // Nothing asked: the what-if is the configured model.
    assert_eq!(asked["rows"], configured["rows"]);
    check(
        asked,
        configured.clone(),
        browser.rows("table-what-if").await,
    );
    // A seven-day lookback moves credit; the page follows.
    browser.enter("what-if", "lookback_days", "7").await;
    assert!(browser.hash().await.contains("lookback_days=7"));
    let asked = demo.api(&format!("{base}&lookback_days=7&moved=true"), ADMIN);
    assert_ne!(asked["rows"], configured["rows"]);
    let moved = asked["moved_totals"][0]["conversions_moved"]
        .as_u64()
        .unwrap();
    assert!(moved > 0, "{asked}");
    assert_eq!(
        browser.kpi("kpi-moved").await.replace(',', ""),
        moved.to_string()
    );
    check(asked, configured, browser.rows("table-what-if").await);
    browser.screenshot("what-if").await;
    browser.check_exports(demo, "what-if").await;
    browser.assert_accessible("what-if").await;
    browser.assert_clean_console("what-if, filtered").await;
}
