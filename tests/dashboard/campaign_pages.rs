//! The campaign pages in the browser: the campaigns table (its figures,
//! sorting, grouping, the parent roll-up and the channel and type filters)
//! and one campaign's drill-down with the deals and people it influenced.

use std::collections::HashMap;

use serde_json::Value;

use crate::browser::{self, ADMIN, Browser, Demo, close_to, money_close, ratio_close};
use crate::{f, row_by};

pub async fn campaigns(demo: &Demo, browser: &Browser) {
    browser.open_page("campaigns?model=linear").await;
    browser.assert_clean_console("campaigns").await;
    let api = demo.api(
        "/v1/reports/campaigns?model=linear&currency=EUR&limit=10000",
        ADMIN,
    );
    let rows = browser.rows("table-campaigns").await;
    assert_eq!(rows.len(), api.as_array().unwrap().len());
    for c in api.as_array().unwrap() {
        let name = c["campaign_name"].as_str().unwrap();
        let row = row_by(&rows, "campaign", name);
        match &c["cost_minor"] {
            Value::Null => assert_eq!(row["cost"], "unknown", "{name}"),
            cost => money_close(&row["cost"], f(cost), name),
        }
        close_to(&row["members"], f(&c["members"]), 0, name);
        close_to(&row["responders"], f(&c["responders"]), 0, name);
        close_to(&row["leads_sourced"], f(&c["leads_sourced"]), 0, name);
        close_to(&row["leads"], f(&c["leads"]), 1, name);
        close_to(&row["sales"], f(&c["sales"]), 1, name);
        money_close(&row["revenue"], f(&c["revenue_minor"]), name);
        ratio_close(&row["roi"], &c["roi"], true, name);
        ratio_close(&row["roas"], &c["roas"], false, name);
        for (key, field) in [
            ("cpl", "cost_per_lead_minor"),
            ("cps", "cost_per_sale_minor"),
        ] {
            match &c[field] {
                Value::String(word) => assert_eq!(&row[key], word, "{name} {key}"),
                v => money_close(&row[key], f(v), name),
            }
        }
        for text in row.values() {
            assert!(
                !["∞", "NaN", "Infinity"]
                    .iter()
                    .any(|bad| text.contains(bad)),
                "{row:?}"
            );
        }
    }
    browser.screenshot("campaigns").await;
    browser.check_exports(demo, "campaigns").await;
    browser.assert_accessible("campaigns").await;

    // Sorting by a column, with the keyboard-reachable header button.
    let before = browser.loads().await;
    browser
        .client
        .find(fantoccini::Locator::Css(
            "#table-campaigns th[data-key=members] button",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.settled("campaigns", before).await;
    assert!(
        browser.hash().await.contains("sort=members%3Adesc")
            || browser.hash().await.contains("sort=members:desc")
    );
    let members: Vec<f64> = browser
        .rows("table-campaigns")
        .await
        .iter()
        .map(|r| browser::number(&r["members"]))
        .collect();
    assert!(members.windows(2).all(|w| w[0] >= w[1]), "{members:?}");

    // Grouping by channel: one row per channel, its leads the campaigns' sum.
    browser.choose("campaigns", "group", "channel").await;
    let rows = browser.rows("table-campaigns").await;
    let mut by_channel: HashMap<&str, f64> = HashMap::new();
    for c in api.as_array().unwrap() {
        *by_channel
            .entry(c["channel"].as_str().unwrap())
            .or_default() += f(&c["leads"]);
    }
    assert_eq!(rows.len(), by_channel.len());
    for (channel, leads) in by_channel {
        close_to(
            &row_by(&rows, "campaign", channel)["leads"],
            leads,
            1,
            channel,
        );
    }
    browser.check_exports(demo, "campaigns per channel").await;
    campaign_groups(demo, browser, &api).await;

    // Another model, other credited leads (campaign_groups left the view ungrouped).
    let linear = browser.rows("table-campaigns").await;
    browser.choose("campaigns", "model", "last_touch").await;
    let api = demo.api("/v1/reports/campaigns?model=last_touch&currency=EUR", ADMIN);
    let rows = browser.rows("table-campaigns").await;
    assert_ne!(rows, linear, "last touch credits otherwise than linear");
    for c in api.as_array().unwrap() {
        let name = c["campaign_name"].as_str().unwrap();
        close_to(
            &row_by(&rows, "campaign", name)["leads"],
            f(&c["leads"]),
            1,
            name,
        );
    }
    browser.assert_clean_console("campaigns, filtered").await;
}

/// Campaign types and the parent roll-up add up their campaigns' figures;
/// the channel and type filters keep only their campaigns.
async fn campaign_groups(demo: &Demo, browser: &Browser, api: &Value) {
    let records = demo.api("/v1/campaigns?limit=10000", ADMIN);
    let record = |id: &str| {
        records
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["campaign_id"] == id)
            .unwrap()
            .clone()
    };
    let leads_of = |keep: &dyn Fn(&Value) -> bool| {
        api.as_array()
            .unwrap()
            .iter()
            .filter(|c| keep(c))
            .map(|c| (f(&c["leads"]), f(&c["revenue_minor"]), f(&c["members"])))
            .fold((0.0, 0.0, 0.0), |s, x| (s.0 + x.0, s.1 + x.1, s.2 + x.2))
    };
    browser.choose("campaigns", "group", "type").await;
    let rows = browser.rows("table-campaigns").await;
    let mut types: Vec<String> = api
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            record(c["campaign_id"].as_str().unwrap())["campaign_type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    types.sort();
    types.dedup();
    assert_eq!(rows.len(), types.len(), "{rows:?}");
    for t in &types {
        let (leads, revenue, members) = leads_of(&|c| {
            record(c["campaign_id"].as_str().unwrap())["campaign_type"] == t.as_str()
        });
        let row = row_by(&rows, "campaign", t);
        close_to(&row["leads"], leads, 1, t);
        money_close(&row["revenue"], revenue, t);
        close_to(&row["members"], members, 0, t);
    }
    browser.check_exports(demo, "campaigns per type").await;

    // The parent rolls up itself and its two children; the rest stand alone.
    browser.choose("campaigns", "group", "parent").await;
    let rows = browser.rows("table-campaigns").await;
    for child in browser::CHILD_CAMPAIGNS {
        assert_eq!(
            record(child)["parent_campaign_id"],
            browser::PARENT_CAMPAIGN
        );
    }
    let family = |c: &Value| {
        let id = c["campaign_id"].as_str().unwrap();
        id == browser::PARENT_CAMPAIGN || browser::CHILD_CAMPAIGNS.contains(&id)
    };
    assert_eq!(rows.len(), api.as_array().unwrap().len() - 2, "{rows:?}");
    let parent = row_by(&rows, "campaign", browser::PARENT_NAME);
    assert_eq!(parent["campaigns"], "3");
    let (leads, revenue, members) = leads_of(&family);
    assert!(leads > 0.0 && revenue > 0.0);
    close_to(&parent["leads"], leads, 1, "roll-up leads");
    money_close(&parent["revenue"], revenue, "roll-up revenue");
    close_to(&parent["members"], members, 0, "roll-up members");
    let cost: f64 = api
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| family(c))
        .map(|c| f(&c["cost_minor"]))
        .sum();
    money_close(&parent["cost"], cost, "roll-up cost");
    // ROI from the sums, as the engine defines it per campaign.
    close_to(
        &parent["roi"],
        (revenue - cost) / cost * 100.0,
        1,
        "roll-up ROI",
    );
    assert!(browser.main_text().await.contains(browser::PARENT_NAME));
    browser.screenshot("campaigns-roll-up").await;
    browser.check_exports(demo, "campaigns rolled up").await;

    // Filters: one channel, then one type within it.
    browser.choose("campaigns", "group", "none").await;
    browser.choose("campaigns", "channel", "webinar").await;
    assert!(browser.hash().await.contains("channel=webinar"));
    let rows = browser.rows("table-campaigns").await;
    let webinars: Vec<&Value> = api
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["channel"] == "webinar")
        .collect();
    assert!(!webinars.is_empty());
    assert_eq!(rows.len(), webinars.len());
    for c in webinars {
        let name = c["campaign_name"].as_str().unwrap();
        close_to(
            &row_by(&rows, "campaign", name)["leads"],
            f(&c["leads"]),
            1,
            name,
        );
    }
    browser.choose("campaigns", "channel", "").await;
    browser.choose("campaigns", "type", "advertisement").await;
    let rows = browser.rows("table-campaigns").await;
    assert!(
        !rows.is_empty() && rows.iter().all(|r| r["type"] == "advertisement"),
        "{rows:?}"
    );
    assert_eq!(
        rows.len(),
        records
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["campaign_type"] == "advertisement")
            .count()
    );
    browser.check_exports(demo, "campaigns of a type").await;
    browser.choose("campaigns", "type", "").await;
}

pub async fn campaign(demo: &Demo, browser: &Browser) {
    browser.open_page("campaign?id=cmp-webinar-101").await;
    browser.assert_clean_console("campaign").await;
    let check = |api: Value, rows: Vec<HashMap<String, String>>| {
        for row in api.as_array().unwrap() {
            for m in row["models"].as_array().unwrap() {
                let model = m["model"].as_str().unwrap();
                // "U-shaped" is u_shaped, "Time decay" time_decay.
                let row = rows
                    .iter()
                    .find(|r| r["model"].to_lowercase().replace(['-', ' '], "_") == model)
                    .unwrap_or_else(|| panic!("no row for {model} in {rows:?}"));
                money_close(&row["opportunity_won-value"], f(&m["value_minor"]), model);
            }
        }
    };
    let api = demo.api(
        "/v1/reports/compare?conversion=opportunity_won&campaign=cmp-webinar-101",
        ADMIN,
    );
    let rows = browser.rows("table-campaign-models").await;
    assert_eq!(rows.len(), api[0]["models"].as_array().unwrap().len());
    check(api, rows);
    let record = demo.api("/v1/campaigns?limit=10000", ADMIN);
    let webinar = record
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["campaign_id"] == "cmp-webinar-101")
        .unwrap();
    close_to(
        &browser.kpi("kpi-members").await,
        f(&webinar["members"]),
        0,
        "members",
    );
    browser.screenshot("campaign").await;
    browser.check_exports(demo, "campaign").await;
    browser.assert_accessible("campaign").await;

    browser.enter("campaign", "from", "2026-06-01").await;
    assert!(browser.hash().await.contains("from=2026-06-01"));
    let api = demo.api(
        "/v1/reports/compare?conversion=opportunity_won&campaign=cmp-webinar-101&from=2026-06-01",
        ADMIN,
    );
    check(api, browser.rows("table-campaign-models").await);
    influence(
        demo,
        "from=2026-06-01",
        browser.rows("table-influence").await,
    );
    browser.assert_clean_console("campaign, filtered").await;
    influence_filters(demo, browser).await;
}

/// The influence table shows the API's rows for the same query, in its
/// order, with every model's credit per deal (amounts) or per lead (shares).
fn influence(demo: &Demo, query: &str, rows: Vec<HashMap<String, String>>) {
    let api = demo.api(
        &format!("/v1/campaigns/cmp-webinar-101/influence?{query}&limit=100"),
        ADMIN,
    );
    let api = api.as_array().unwrap();
    assert_eq!(rows.len(), api.len(), "{query}");
    for (row, expected) in rows.iter().zip(api) {
        assert_eq!(
            row["subject"],
            expected["subject_id"].as_str().unwrap(),
            "{query}"
        );
        for m in expected["models"].as_array().unwrap() {
            let model = m["model"].as_str().unwrap();
            match m["amount_minor"].as_f64() {
                Some(amount) => money_close(&row[model], amount, model),
                None => close_to(&row[model], f(&m["weight"]) * 100.0, 1, model),
            }
        }
        if let Some(value) = expected["value_minor"].as_f64() {
            money_close(&row["value"], value, "deal value");
        }
    }
}

async fn influence_filters(demo: &Demo, browser: &Browser) {
    browser.open_page("campaign?id=cmp-webinar-101").await;
    let deals = browser.rows("table-influence").await;
    assert!(!deals.is_empty(), "the webinar influenced won deals");
    influence(demo, "conversion=opportunity_won", deals.clone());
    browser
        .choose("campaign", "order", "credit:first_touch")
        .await;
    influence(
        demo,
        "conversion=opportunity_won&sort=credit&model=first_touch",
        browser.rows("table-influence").await,
    );
    browser
        .choose("campaign", "influence", "lead_created")
        .await;
    assert!(browser.hash().await.contains("influence=lead_created"));
    let people = browser.rows("table-influence").await;
    assert!(!people.is_empty() && people[0].contains_key("first_touch"));
    assert!(!people[0].contains_key("value"), "a lead has no value");
    influence(
        demo,
        "conversion=lead_created&sort=credit&model=first_touch",
        people,
    );
    browser
        .choose("campaign", "influence", "opportunity_created")
        .await;
    browser.choose("campaign", "order", "value").await;
    influence(
        demo,
        "conversion=opportunity_created",
        browser.rows("table-influence").await,
    );
    // The demo books in euros only: in dollars nothing is left.
    browser.enter("campaign", "currency", "USD").await;
    assert!(browser.rows("table-influence").await.is_empty());
    influence(
        demo,
        "conversion=opportunity_created&currency=USD",
        Vec::new(),
    );
    browser.screenshot("campaign-influence").await;
    browser.check_exports(demo, "campaign-influence").await;
    browser.assert_accessible("campaign-influence").await;
    browser
        .assert_clean_console("campaign, influence filters")
        .await;
}
