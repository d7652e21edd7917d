import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SporWire

/// Sends the stored webhook deliveries (``WebhookDelivery``): one POST each, signed,
/// with a timeout; a failure (no answer, or a status other than 2xx) is tried again
/// after 1, 2, 4 … seconds (``ServerConfiguration/Webhooks``), up to the configured
/// attempts, then given up and kept as failed. Deliveries survive restarts: they live
/// in the store, written with the step that caused them. Redirects are not followed.
/// Runs while the server runs; on shutdown it stops between deliveries.
final class WebhookDispatcher: Sendable {
    private let store: SporStore
    private let settings: ServerConfiguration.Webhooks
    private let logger: Logger
    private let isStopping: @Sendable () -> Bool

    init(store: SporStore, settings: ServerConfiguration.Webhooks, logger: Logger, isStopping: @escaping @Sendable () -> Bool) {
        self.store = store
        self.settings = settings
        self.logger = logger
        self.isStopping = isStopping
    }

    func run() async {
        guard !settings.endpoints.isEmpty else { return }
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(Int64(settings.timeoutSeconds)), read: .seconds(Int64(settings.timeoutSeconds)))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let secrets = Dictionary(settings.endpoints.map { ($0.url.absoluteString, $0.secret) }) { first, _ in first }
        while !isStopping() {
            let due: [WebhookDelivery]
            do {
                due = try await store.dueWebhookDeliveries(now: Date(), limit: 16)
            } catch {
                logger.error("cannot read the webhook deliveries", metadata: ["error": "\(error)"])
                due = []
            }
            for delivery in due where !isStopping() {
                await send(delivery, secret: secrets[delivery.endpoint], client: client)
            }
            if due.isEmpty {
                try? await Task.sleep(for: .milliseconds(settings.pollMilliseconds))
            }
        }
        try? await client.shutdown()
    }

    private func send(_ delivery: WebhookDelivery, secret: String?, client: HTTPClient) async {
        var failure: String?
        if let secret {
            var request = HTTPClientRequest(url: delivery.endpoint)
            request.method = .POST
            let timestamp = Int64(Date().timeIntervalSince1970)
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: SporRelease.name(of: "spor-server"))
            request.headers.add(name: "Spor-Event", value: delivery.event)
            request.headers.add(name: "Spor-Delivery", value: delivery.notificationID)
            request.headers.add(name: "Spor-Signature", value: WebhookEndpoint.signature(of: delivery.payload, timestamp: timestamp, secret: secret))
            request.body = .bytes(ByteBuffer(bytes: delivery.payload))
            do {
                let response = try await client.execute(request, timeout: .seconds(Int64(settings.timeoutSeconds)))
                _ = try? await response.body.collect(upTo: 64 * 1024)
                if !(200..<300).contains(response.status.code) { failure = "HTTP \(response.status.code)" }
            } catch {
                failure = "\(error)"
            }
        } else {
            // The endpoint left the configuration while deliveries to it waited.
            failure = "the endpoint is no longer configured"
        }
        let attempts = delivery.attempts + 1
        let next: Date? = failure == nil || attempts >= settings.maxAttempts || secret == nil ? nil
            : Date().addingTimeInterval(settings.retryBaseSeconds * pow(2, Double(attempts - 1)))
        do {
            try await store.recordWebhookAttempt(delivery.id, delivered: failure == nil, at: Date(), nextAttempt: next, error: failure)
        } catch {
            logger.error("cannot record a webhook attempt", metadata: ["error": "\(error)"])
        }
        if let failure {
            logger.warning(next == nil ? "webhook delivery given up" : "webhook delivery failed; retrying",
                           metadata: ["endpoint": "\(delivery.endpoint)", "event": "\(delivery.event)", "attempt": "\(attempts)", "error": "\(failure)"])
        }
    }
}
