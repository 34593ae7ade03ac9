"""Drives the console in a real headless Chromium (Selenium + chromedriver), for tests/console.rs.

Usage: console_browser.py BASE_URL SCREENSHOT_DIR [nested]
Against a running `skipline serve --allow-private-endpoints --delivery-schedule 1s,1s`:
  1. an order placed through the API reaches "cart cleared" on the board within 5 s, no reload;
  2. its path through the flow is highlighted in the graph, matching its history;
  3. a vendor endpoint that refuses shows its failed attempts on the vendor board; once its
     delivery is dead-lettered and the endpoint recovers, the replay button (dry run first)
     delivers the ticket;
  4. no page logged an error in the browser console.
Screenshots of each page go to SCREENSHOT_DIR. Exits 1 with the reason on the first failure.
"""
import json
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

BASE, SHOTS = sys.argv[1], sys.argv[2]
NESTED = sys.argv[3:] == ["nested"]


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read()
        return json.loads(text) if text else None


def order(account, vendor):
    body = {"order": {"accountid": account, "vendorid": vendor, "orderdate": "2026-12-07T08:15:00Z",
                      "city": "Sydney", "details": {"coffeetype": "Flat white", "coffeesize": "Large",
                                                    "unitprice": "4.50", "quantity": 1},
                      "eventtype": ["new_order"]}}
    return call("POST", "/order", body)["orderid"]


class Vendor(BaseHTTPRequestHandler):
    """A vendor's webhook endpoint that refuses (503) until `healthy` is set."""
    healthy = False
    received = []

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        if Vendor.healthy:
            Vendor.received.append(body)
            self.send_response(200)
        else:
            self.send_response(503)
        self.end_headers()

    def log_message(self, *args):
        pass


def until(what, check, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception:  # the element is being redrawn; look again
            pass
        time.sleep(0.05)
    fail(f"{what} within {seconds} s")


def click(css, what=None):
    """Clicks the element, finding it afresh each try: the board and tables are redrawn as
    events arrive, which can replace an element between finding and clicking it."""
    until(f"clicking {what or css}", lambda: driver.find_element(By.CSS_SELECTOR, css).click() or True, 5)


receiver = ThreadingHTTPServer(("127.0.0.1", 0), Vendor)
threading.Thread(target=receiver.serve_forever, daemon=True).start()
if not NESTED:
    call("POST", "/vendors/v-flaky/endpoints", {"url": f"http://127.0.0.1:{receiver.server_address[1]}/hook"})

options = webdriver.ChromeOptions()
for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-quic", "--window-size=1400,1000", f"--user-data-dir={tempfile.mkdtemp()}"]:
    options.add_argument(flag)
options.binary_location = "/usr/bin/chromium"
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)

def no_console_errors():
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    if errors:
        fail(f"browser console errors: {errors}")


def nested():
    """A flow with a Parallel and a Map: their inner states are drawn inside them, and an
    execution's path is highlighted inside too (every branch, the item processor)."""
    orderid = order("a-nested", "v-nested")
    until("the execution succeeds", lambda: call("GET", f"/orders/{orderid}")["status"] == "SUCCEEDED", 10)
    until("the order is on the board", lambda: driver.find_elements(By.CSS_SELECTOR, f'#board tr[data-order="{orderid}"]'), 5)
    click(f'#board tr[data-order="{orderid}"]')
    until("the path is highlighted", lambda: driver.find_elements(By.CSS_SELECTOR, "g.node.visited"), 5)
    frames = {g.get_attribute("data-state") for g in driver.find_elements(By.CSS_SELECTOR, "g.node.frame")}
    if frames != {"Fan", "Each"}:
        fail(f"frames drawn: {sorted(frames)}")
    highlighted = {g.get_attribute("data-state") for g in driver.find_elements(By.CSS_SELECTOR, "g.node.visited")}
    expected = {"Fan", "Fan/0/A", "Fan/1/B", "Prepare", "Each", "Each/*/Item", "Done"}
    if highlighted != expected:
        fail(f"the graph highlights {sorted(highlighted)}, expected {sorted(expected)}")
    driver.save_screenshot(f"{SHOTS}/flow-nested.png")
    no_console_errors()
    print(json.dumps({"highlighted": sorted(highlighted)}))


try:
    driver.get(BASE + "/console")
    until("the live feed connects", lambda: driver.find_element(By.ID, "feed").text == "live", 10)
    if NESTED:
        nested()
        sys.exit(0)

    # 1. An order reaches "cart cleared" on the board, live.
    placed = time.time()
    orderid = order("a-console", "v-console")
    cell = f'#board tr[data-order="{orderid}"] td[data-stage="cleared"]'
    until("the order reaches cart cleared on the board",
          lambda: "done" in driver.find_element(By.CSS_SELECTOR, cell).get_attribute("class"), 5)
    took = time.time() - placed
    for stage in ["accepted", "committed", "invoiced", "published", "notified"]:
        c = driver.find_element(By.CSS_SELECTOR, f'#board tr[data-order="{orderid}"] td[data-stage="{stage}"]')
        if "done" not in c.get_attribute("class"):
            fail(f"stage {stage} is not marked for {orderid}")
    driver.save_screenshot(f"{SHOTS}/orders.png")

    # 2. Its path in the graph is the states its history entered.
    click(f'#board tr[data-order="{orderid}"]')
    until("the flow tab shows the graph", lambda: driver.find_elements(By.CSS_SELECTOR, "g.node.visited"), 5)
    history = call("GET", f"/orders/{orderid}")["history"]
    entered = {h["state"] for h in history if h["type"].endswith("StateEntered")}
    highlighted = {g.get_attribute("data-state") for g in driver.find_elements(By.CSS_SELECTOR, "g.node.visited")}
    if highlighted != entered:
        fail(f"the graph highlights {sorted(highlighted)}, the history entered {sorted(entered)}")
    all_states = {g.get_attribute("data-state") for g in driver.find_elements(By.CSS_SELECTOR, "g.node")}
    if not entered < all_states:
        fail(f"graph states {sorted(all_states)} do not include {sorted(entered)}")
    driver.save_screenshot(f"{SHOTS}/flow.png")

    # 3. A refusing endpoint's retries on the vendor board, then replay from the DLQ.
    flaky = order("a-flaky", "v-flaky")
    click('nav button[data-tab="vendors"]')
    until("the vendor board shows the failed attempts",
          lambda: driver.find_element(By.CSS_SELECTOR, '.card[data-vendor="v-flaky"] tr[data-endpoint] td.failed').text == "failed", 10)
    until("a second attempt, after the schedule's wait", lambda: int(driver.find_element(
        By.CSS_SELECTOR, '.card[data-vendor="v-flaky"] tr[data-endpoint] td:nth-child(4)').text) >= 2, 10)
    driver.save_screenshot(f"{SHOTS}/vendors.png")
    click('nav button[data-tab="queues"]')
    row = 'tr[data-queue="deliveries-dlq"]'

    def dead_lettered():
        click('nav button[data-tab="queues"]')
        time.sleep(0.2)
        return driver.find_element(By.CSS_SELECTOR, f"{row} td:nth-child(2)").text == "1"

    until("the delivery reaches deliveries-dlq", dead_lettered, 20)
    Vendor.healthy = True
    click(f"{row} button.replay")
    preview = until("the dry run preview", lambda: driver.find_element(By.ID, "replay-preview").text, 5)
    if "Would move 1" not in preview:
        fail(f"the preview says {preview!r}")
    if Vendor.received:
        fail("the dry run delivered something")
    click("#replay-confirm", "the confirm button")
    until("the replay result", lambda: "Moved 1" in driver.find_element(By.ID, "replay-result").text, 5)
    until("the replayed ticket reaches the vendor", lambda: Vendor.received, 10)
    if flaky.encode() not in Vendor.received[0]:
        fail("the vendor received another ticket")
    driver.save_screenshot(f"{SHOTS}/queues.png")

    # 4. No errors in the browser console.
    no_console_errors()
    print(json.dumps({"cleared_after_s": round(took, 2), "highlighted": sorted(highlighted)}))
finally:
    driver.quit()
    receiver.shutdown()
