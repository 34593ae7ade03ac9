//! In-memory adapters for the handlers' unit tests and for other crates' tests.
//!
//! These are test doubles of our own ports, not of any SDK: the real adapters are tested
//! against SQLite and a moto server.

use crate::ports::*;
use async_trait::async_trait;
use serde_json::json;
use skipline_events::{Order, OrderEvent, parse_order_value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

/// A clock that moves only when told.
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    pub fn advance_secs(&self, s: i64) {
        self.0.fetch_add(s, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_764_057_600 + self.0.load(Ordering::SeqCst)).unwrap_or_default()
    }
}

pub fn seed_order(accountid: &str, vendorid: &str) -> serde_json::Value {
    json!({"accountid": accountid, "vendorid": vendorid, "orderdate": "2026-11-25T08:15:00Z", "city": "Sydney",
        "details": {"coffeetype": "Cappuccino", "coffeesize": "Small", "unitprice": "3.5", "quantity": 2},
        "eventtype": ["new_order"]})
}

pub fn seed_valid_order(accountid: &str, vendorid: &str) -> Order {
    parse_order_value(&seed_order(accountid, vendorid)).unwrap_or_else(|e| panic!("seed order invalid: {e}"))
}

pub fn cart_item(accountid: &str, vendorid: &str, orderid: &str) -> CartItem {
    let order = seed_valid_order(accountid, vendorid);
    CartItem {
        accountid: accountid.into(),
        vendorid: vendorid.into(),
        orderid: orderid.into(),
        total: order.total(),
        order,
        created_at: "2026-11-25T08:15:00Z".into(),
    }
}

pub fn completed_event_json(orderid: &str, accountid: &str, vendorid: &str) -> String {
    let order = seed_valid_order(accountid, vendorid);
    let key = skipline_events::invoice_key(accountid, vendorid, orderid);
    serde_json::to_string(&OrderEvent::completed(
        orderid,
        &order,
        &key,
        "2026-11-25T08:15:01Z".into(),
    ))
    .unwrap_or_default()
}

pub fn endpoint(vendorid: &str, endpointid: &str, url: &str) -> VendorEndpoint {
    VendorEndpoint {
        vendorid: vendorid.into(),
        endpointid: endpointid.into(),
        url: url.into(),
        secret: secret_for(endpointid),
        created_at: "2026-11-25T08:00:00Z".into(),
        signing: crate::ports::Signing::Standard,
        previous_secret: None,
        previous_until: None,
        health: Health::default(),
    }
}

/// A fixed Standard Webhooks secret per endpoint id: the key is the id, padded to 32 bytes.
pub fn secret_for(endpointid: &str) -> String {
    use base64::Engine as _;
    let key = format!("{endpointid:-<32}");
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug, Default)]
pub struct MemoryCart {
    items: Mutex<BTreeMap<(String, String), CartItem>>,
    fail: Mutex<Option<String>>,
}

impl MemoryCart {
    /// A cart already holding `items`.
    pub fn holding(items: impl IntoIterator<Item = CartItem>) -> Self {
        let cart = Self::default();
        items.into_iter().for_each(|item| cart.insert(item));
        cart
    }
    pub fn insert(&self, item: CartItem) {
        lock(&self.items).insert((item.accountid.clone(), item.vendorid.clone()), item);
    }
    pub fn get_sync(&self, a: &str, v: &str) -> Option<CartItem> {
        lock(&self.items).get(&(a.to_string(), v.to_string())).cloned()
    }
    pub fn is_empty(&self) -> bool {
        lock(&self.items).is_empty()
    }
    /// The next call fails with `StoreError::Unavailable`.
    pub fn fail_next(&self, why: &str) {
        *lock(&self.fail) = Some(why.into());
    }
    fn check(&self) -> Result<(), StoreError> {
        lock(&self.fail)
            .take()
            .map_or(Ok(()), |w| Err(StoreError::Unavailable(w)))
    }
}

#[async_trait]
impl CartStore for MemoryCart {
    async fn put_if_free(&self, item: &CartItem) -> Result<PutCartOutcome, StoreError> {
        self.check()?;
        let mut items = lock(&self.items);
        let key = (item.accountid.clone(), item.vendorid.clone());
        match items.get(&key) {
            Some(e) if e.orderid == item.orderid => Ok(PutCartOutcome::AlreadyThisOrder),
            Some(e) => Ok(PutCartOutcome::HeldBy {
                orderid: e.orderid.clone(),
            }),
            None => {
                items.insert(key, item.clone());
                Ok(PutCartOutcome::Created)
            }
        }
    }
    async fn get(&self, a: &str, v: &str) -> Result<Option<CartItem>, StoreError> {
        self.check()?;
        Ok(self.get_sync(a, v))
    }
    async fn release(&self, a: &str, v: &str, orderid: &str) -> Result<ReleaseOutcome, StoreError> {
        self.check()?;
        let mut items = lock(&self.items);
        let key = (a.to_string(), v.to_string());
        match items.get(&key) {
            None => Ok(ReleaseOutcome::Missing),
            Some(e) if e.orderid != orderid => Ok(ReleaseOutcome::HeldBy {
                orderid: e.orderid.clone(),
            }),
            Some(_) => {
                items.remove(&key);
                Ok(ReleaseOutcome::Released)
            }
        }
    }
}

#[derive(Debug, Default)]
pub struct MemoryInvoices(Mutex<HashMap<String, Vec<u8>>>);

impl MemoryInvoices {
    pub fn insert(&self, key: &str, body: &[u8]) {
        lock(&self.0).insert(key.into(), body.to_vec());
    }
    pub fn get_sync(&self, key: &str) -> Option<Vec<u8>> {
        lock(&self.0).get(key).cloned()
    }
    pub fn len(&self) -> usize {
        lock(&self.0).len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl InvoiceStore for MemoryInvoices {
    async fn put_new(&self, key: &str, body: &[u8]) -> Result<PutBlobOutcome, StoreError> {
        let mut map = lock(&self.0);
        if map.contains_key(key) {
            return Ok(PutBlobOutcome::AlreadyExists);
        }
        map.insert(key.into(), body.to_vec());
        Ok(PutBlobOutcome::Created)
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get_sync(key))
    }
}

/// (account, month, rank) → invoice key.
type MonthIndex = BTreeMap<(String, String, String), String>;

/// The index as two maps: order id → key, and (account, month, rank) → key.
#[derive(Debug, Default)]
pub struct MemoryInvoiceIndex(Mutex<(HashMap<String, String>, MonthIndex)>);

impl MemoryInvoiceIndex {
    /// Entries of both kinds.
    pub fn len(&self) -> usize {
        let maps = lock(&self.0);
        maps.0.len() + maps.1.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl InvoiceIndex for MemoryInvoiceIndex {
    async fn record(&self, entry: &InvoiceIndexEntry) -> Result<(), StoreError> {
        let mut maps = lock(&self.0);
        maps.0.insert(entry.orderid.clone(), entry.invoice_key.clone());
        if let Some((month, rank)) = &entry.month {
            maps.1.insert(
                (entry.accountid.clone(), month.clone(), rank.clone()),
                entry.invoice_key.clone(),
            );
        }
        Ok(())
    }
    async fn by_order(&self, orderid: &str) -> Result<Option<String>, StoreError> {
        Ok(lock(&self.0).0.get(orderid).cloned())
    }
    async fn latest_in_month(&self, accountid: &str, month: &str) -> Result<Option<String>, StoreError> {
        Ok(lock(&self.0)
            .1
            .iter()
            .rev()
            .find(|((a, m, _), _)| a == accountid && m == month)
            .map(|(_, key)| key.clone()))
    }
}

#[derive(Debug, Default)]
pub struct MemoryDirectory(Mutex<Vec<VendorEndpoint>>);

impl MemoryDirectory {
    pub fn insert(&self, e: VendorEndpoint) {
        lock(&self.0).push(e);
    }
}

#[async_trait]
impl VendorDirectory for MemoryDirectory {
    async fn add(&self, endpoint: &VendorEndpoint) -> Result<(), StoreError> {
        self.insert(endpoint.clone());
        Ok(())
    }
    async fn list(&self, vendorid: Option<&str>) -> Result<Vec<VendorEndpoint>, StoreError> {
        Ok(lock(&self.0)
            .iter()
            .filter(|e| vendorid.is_none_or(|v| e.vendorid == v))
            .cloned()
            .collect())
    }
    async fn remove(&self, vendorid: &str, endpointid: &str) -> Result<bool, StoreError> {
        let mut all = lock(&self.0);
        let before = all.len();
        all.retain(|e| !(e.vendorid == vendorid && e.endpointid == endpointid));
        Ok(all.len() != before)
    }
    async fn replace(&self, endpoint: &VendorEndpoint) -> Result<bool, StoreError> {
        let mut all = lock(&self.0);
        let found = all
            .iter_mut()
            .find(|e| e.vendorid == endpoint.vendorid && e.endpointid == endpoint.endpointid);
        Ok(found.map(|e| *e = endpoint.clone()).is_some())
    }
    async fn get(&self, vendorid: &str, endpointid: &str) -> Result<Option<VendorEndpoint>, StoreError> {
        Ok(lock(&self.0)
            .iter()
            .find(|e| e.vendorid == vendorid && e.endpointid == endpointid)
            .cloned())
    }
    async fn set_health(&self, vendorid: &str, endpointid: &str, health: &Health) -> Result<bool, StoreError> {
        let mut all = lock(&self.0);
        let found = all
            .iter_mut()
            .find(|e| e.vendorid == vendorid && e.endpointid == endpointid);
        Ok(found.map(|e| e.health = health.clone()).is_some())
    }
}

/// The delivery log, and the deliveries queue it is filled from.
#[derive(Debug, Default)]
pub struct MemoryDeliveries {
    delivered: Mutex<HashSet<(String, String)>>,
    attempts: Mutex<Vec<Attempt>>,
    queued: Mutex<Vec<skipline_events::Delivery>>,
}

impl MemoryDeliveries {
    pub fn contains(&self, eventid: &str, endpointid: &str) -> bool {
        lock(&self.delivered).contains(&(eventid.to_string(), endpointid.to_string()))
    }
    /// Every attempt, oldest first.
    pub fn all(&self) -> Vec<Attempt> {
        lock(&self.attempts).clone()
    }
    /// What was queued, oldest first.
    pub fn queued(&self) -> Vec<skipline_events::Delivery> {
        lock(&self.queued).clone()
    }
}

#[async_trait]
impl DeliveryLog for MemoryDeliveries {
    async fn was_delivered(&self, eventid: &str, endpointid: &str) -> Result<bool, StoreError> {
        Ok(self.contains(eventid, endpointid))
    }
    async fn record_attempt(&self, attempt: &Attempt) -> Result<(), StoreError> {
        if attempt.outcome == AttemptOutcome::Delivered {
            lock(&self.delivered).insert((attempt.eventid.clone(), attempt.endpointid.clone()));
        }
        lock(&self.attempts).push(attempt.clone());
        Ok(())
    }
    async fn attempts(&self, q: &AttemptQuery) -> Result<Vec<Attempt>, StoreError> {
        Ok(lock(&self.attempts)
            .iter()
            .rev()
            .filter(|a| a.vendorid == q.vendorid)
            .filter(|a| q.endpointid.as_ref().is_none_or(|e| *e == a.endpointid))
            .filter(|a| q.eventid.as_ref().is_none_or(|e| *e == a.eventid))
            .filter(|a| !q.failed_only || a.outcome != AttemptOutcome::Delivered)
            .filter(|a| q.since.is_none_or(|t| a.at >= t) && q.until.is_none_or(|t| a.at < t))
            .take(q.limit)
            .cloned()
            .collect())
    }
    async fn tickets(
        &self,
        vendorid: &str,
        query: &TicketQuery,
        limit: usize,
    ) -> Result<Vec<skipline_events::TicketPayload>, StoreError> {
        let mut seen = HashSet::new();
        Ok(lock(&self.queued)
            .iter()
            .filter(|d| d.vendorid == vendorid)
            .filter(|d| match query {
                TicketQuery::Event(id) => d.eventid == *id,
                TicketQuery::Between { .. } => true,
            })
            .filter(|d| seen.insert(d.eventid.clone()))
            .take(limit)
            .map(|d| d.payload.clone())
            .collect())
    }
}

#[async_trait]
impl DeliveryQueue for MemoryDeliveries {
    async fn enqueue(&self, deliveries: &[skipline_events::Delivery]) -> Result<(), StoreError> {
        lock(&self.queued).extend(deliveries.iter().cloned());
        Ok(())
    }
}

/// Records `ChangeMessageVisibility` calls as (message id, timeout).
#[derive(Debug, Default)]
pub struct MemoryVisibility(Mutex<Vec<(String, std::time::Duration)>>);

impl MemoryVisibility {
    pub fn changes(&self) -> Vec<(String, std::time::Duration)> {
        lock(&self.0).clone()
    }
}

#[async_trait]
impl MessageVisibility for MemoryVisibility {
    async fn retry_in(
        &self,
        record: &aws_lambda_events::event::sqs::SqsMessage,
        delay: std::time::Duration,
    ) -> Result<(), StoreError> {
        lock(&self.0).push((record.message_id.clone().unwrap_or_default(), delay));
        Ok(())
    }
}

/// Records what was published.
#[derive(Debug, Default)]
pub struct MemoryTopic(Mutex<Vec<(String, skipline_events::MessageAttributes)>>);

impl MemoryTopic {
    pub fn published(&self) -> Vec<(String, skipline_events::MessageAttributes)> {
        lock(&self.0).clone()
    }
}

#[async_trait]
impl EventPublisher for MemoryTopic {
    async fn publish(&self, message: &str, attributes: &skipline_events::MessageAttributes) -> Result<(), StoreError> {
        lock(&self.0).push((message.to_string(), attributes.clone()));
        Ok(())
    }
}

/// Records requests and answers 200, or a status set per URL.
#[derive(Debug, Default)]
pub struct RecordingWebhooks {
    sent: Mutex<Vec<WebhookRequest>>,
    answers: Mutex<HashMap<String, WebhookResponse>>,
    tried: Mutex<HashMap<String, u64>>,
}

impl RecordingWebhooks {
    pub fn answer(&self, url: &str, status: u16) {
        self.answer_with(url, status, None);
    }
    pub fn answer_with(&self, url: &str, status: u16, retry_after: Option<std::time::Duration>) {
        lock(&self.answers).insert(url.into(), WebhookResponse { status, retry_after });
    }
    /// Requests to `url`, answered or not.
    pub fn attempts(&self, url: &str) -> u64 {
        lock(&self.tried).get(url).copied().unwrap_or(0)
    }
    pub fn sent(&self) -> Vec<WebhookRequest> {
        lock(&self.sent).clone()
    }
}

#[async_trait]
impl WebhookClient for RecordingWebhooks {
    async fn post(&self, request: &WebhookRequest) -> Result<WebhookResponse, DeliveryError> {
        *lock(&self.tried).entry(request.url.clone()).or_default() += 1;
        let answer = lock(&self.answers)
            .get(&request.url)
            .copied()
            .unwrap_or(WebhookResponse::status(200));
        if answer.is_success() {
            lock(&self.sent).push(request.clone());
        }
        Ok(answer)
    }
}
