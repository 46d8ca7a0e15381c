//! What the API adds at a large platform's size: for each question an
//! administrator asks often (the first page of tenants, a search by name,
//! who holds a permission on a tenant, what one user holds), the latency
//! over HTTP (auth, the query, JSON, loopback) beside the same queries run
//! straight through the same driver (sqlx) on the same database, in the
//! same run. `bench/scale` seeds the database, starts the server and passes
//! both; only loopback servers are accepted.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Parser;
use platform_admin::rbac::store as rbac;
use platform_admin::roles::Permission;
use platform_admin::seed::bulk;
use platform_admin::tenants::store::{self as tenants, ListFilter};
use platform_admin::Db;

#[derive(Parser)]
struct Args {
    /// The server's database, as `serve --database` was given it.
    #[arg(long)]
    database: String,
    /// The server's base URL (loopback only).
    #[arg(long)]
    url: String,
    /// A token of a platform administrator.
    #[arg(long, env = "SCALE_BENCH_TOKEN")]
    token: String,
    /// How many tenants the seed loaded (questions are spread over them).
    #[arg(long)]
    tenants: usize,
    /// How many users the seed loaded.
    #[arg(long)]
    users: usize,
    /// Timed requests per question and side.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u16).range(1..))]
    requests: u16,
}

/// The p95 the issue sets for every question, over HTTP on loopback.
const TARGET_P95: Duration = Duration::from_millis(20);

/// Name searches: a few words of a tenant's name, as typed.
const SEARCHES: [&str; 6] = [
    "kestrel lab",
    "willow",
    "harbor fin",
    "nimbus rob",
    "acme 17",
    "quarry energy",
];

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let url = reqwest::Url::parse(&args.url).context("--url")?;
    let host = url.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!("--url must be a loopback address");
    }
    if args.tenants == 0 || args.users == 0 {
        bail!("--tenants and --users must be above 0");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

/// One question, asked `i`-th time: its HTTP path and the same through the
/// store.
struct Question {
    name: &'static str,
    path: fn(&Args, usize) -> String,
}

const QUESTIONS: [Question; 4] = [
    Question {
        name: "first page of tenants",
        path: |_, _| "/v1/tenants?limit=50".into(),
    },
    Question {
        name: "search by name",
        path: |_, i| {
            format!(
                "/v1/tenants?limit=50&q={}",
                SEARCHES[i % SEARCHES.len()].replace(' ', "%20")
            )
        },
    },
    Question {
        name: "who-can on one tenant",
        path: |a, i| {
            format!(
                "/v1/rbac/who-can?permission=tenants.write&tenant={}",
                bulk::tenant(spread(i, a.tenants)).slug
            )
        },
    },
    Question {
        name: "one user's effective",
        path: |a, i| {
            format!(
                "/v1/rbac/subjects/{}/effective",
                bulk::user_email(spread(i, a.users))
            )
        },
    },
];

/// The `i`-th of `n` items, visited in a scattered order (so no answer is
/// the last one's, warm in a cache).
fn spread(i: usize, n: usize) -> usize {
    i.wrapping_mul(104_729) % n
}

async fn run(args: Args) -> anyhow::Result<()> {
    let db = Db::connect(&args.database)
        .await
        .context("opening the database")?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()?;
    let base = args.url.trim_end_matches('/').to_string();

    println!(
        "{:<24} {:>26} {:>26} {:>8}  target p95 <= 20 ms",
        "question", "API p50/p95/p99 ms", "SQL p50/p95/p99 ms", "p95 x"
    );
    let mut missed = 0;
    for (q, question) in QUESTIONS.iter().enumerate() {
        // Warm both paths (connections, statement caches) untimed.
        for i in 0..20 {
            http_once(&http, &base, &args.token, &(question.path)(&args, i)).await?;
            sql_once(&db, q, &args, i).await?;
        }
        let mut api = Vec::with_capacity(usize::from(args.requests));
        let mut sql = Vec::with_capacity(usize::from(args.requests));
        for i in 0..usize::from(args.requests) {
            let path = (question.path)(&args, i);
            let started = Instant::now();
            http_once(&http, &base, &args.token, &path).await?;
            api.push(started.elapsed());
            let started = Instant::now();
            sql_once(&db, q, &args, i).await?;
            sql.push(started.elapsed());
        }
        let (a, s) = (Percentiles::of(api), Percentiles::of(sql));
        let met = a.p95 <= TARGET_P95;
        if !met {
            missed += 1;
        }
        println!(
            "{:<24} {:>26} {:>26} {:>7.1}x  {}",
            question.name,
            a.to_string(),
            s.to_string(),
            a.p95.as_secs_f64() / s.p95.as_secs_f64().max(1e-9),
            if met { "met" } else { "MISSED" }
        );
    }
    db.close().await;
    if missed > 0 {
        bail!(
            "{missed} of {} questions over the p95 target",
            QUESTIONS.len()
        );
    }
    Ok(())
}

async fn http_once(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
) -> anyhow::Result<()> {
    let reply = http
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("GET {path}"))?;
    let status = reply.status();
    let body = reply.bytes().await?;
    if !status.is_success() {
        bail!("GET {path}: {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(())
}

/// The store's queries for question `q`: what the route runs, without
/// HTTP, auth or JSON.
async fn sql_once(db: &Db, q: usize, args: &Args, i: usize) -> anyhow::Result<()> {
    match q {
        0 | 1 => {
            let filter = ListFilter {
                text: (q == 1).then(|| SEARCHES[i % SEARCHES.len()].to_string()),
                limit: 51,
                ..ListFilter::default()
            };
            tenants::list(db, &filter).await?;
        }
        2 => {
            let slug = bulk::tenant(spread(i, args.tenants)).slug;
            let id = tenants::id_of(db.pool(), &tenants::TenantRef::Slug(slug.clone()))
                .await?
                .with_context(|| format!("no tenant {slug}"))?;
            let mut conn = db.pool().acquire().await?;
            let roles = rbac::roles_granting(&mut conn, Permission::TenantsWrite).await?;
            rbac::grants_of_roles(&mut conn, &roles, Some(&id)).await?;
        }
        _ => {
            let email = bulk::user_email(spread(i, args.users));
            let mut conn = db.pool().acquire().await?;
            let subject = rbac::find_subject(&mut conn, &email)
                .await?
                .with_context(|| format!("no user {email}"))?;
            rbac::grants_of(&mut conn, &subject).await?;
        }
    }
    Ok(())
}

struct Percentiles {
    p50: Duration,
    p95: Duration,
    p99: Duration,
}

impl Percentiles {
    fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let at = |p: usize| samples[(samples.len() * p / 100).min(samples.len() - 1)];
        Self {
            p50: at(50),
            p95: at(95),
            p99: at(99),
        }
    }
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let text = format!(
            "{:.2} / {:.2} / {:.2}",
            ms(self.p50),
            ms(self.p95),
            ms(self.p99)
        );
        f.pad(&text)
    }
}
