//! One seller's account on either marketplace behind one face, with the marketplace's orders
//! turned into `app` orders here, once.

use app::{Marketplace, Money, OrderDetail, OrderLine, OrderStatus, OrderSummary, Shipment};
use time::OffsetDateTime;

use super::{
    MarketplaceError,
    bricklink::{self, BrickLink, OrderFilter},
    brickowl::{self, BrickOwl, OrderQuery},
    guard::Priority,
};

/// A connected account.
#[derive(Debug, Clone)]
pub enum Account {
    BrickLink(BrickLink),
    BrickOwl(BrickOwl),
}

/// An order as a marketplace's list shows it: enough to tell whether it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub order_id: String,
    pub changed_at: OffsetDateTime,
    pub marketplace_status: String,
    /// The status in brickdesk's terms, payment included: BrickLink changes neither the status
    /// nor its date when a buyer pays a pending order, and pushes nothing.
    pub status: OrderStatus,
}

impl Account {
    /// Which marketplace.
    pub fn marketplace(&self) -> Marketplace {
        match self {
            Self::BrickLink(_) => Marketplace::BrickLink,
            Self::BrickOwl(_) => Marketplace::BrickOwl,
        }
    }

    /// Every order the marketplace lists (with `filed`, BrickLink's filed ones too).
    pub async fn list(
        &self,
        filed: bool,
        priority: Priority,
    ) -> Result<Vec<Listed>, MarketplaceError> {
        match self {
            Self::BrickLink(client) => {
                let mut listed = Vec::new();
                let passes: &[Option<bool>] = if filed { &[None, Some(true)] } else { &[None] };
                for pass in passes {
                    let filter = OrderFilter {
                        filed: *pass,
                        ..OrderFilter::default()
                    };
                    listed.extend(
                        client
                            .orders(&filter, priority)
                            .await?
                            .into_iter()
                            .map(|o| Listed {
                                order_id: o.order_id.to_string(),
                                changed_at: o.date_status_changed.unwrap_or(o.date_ordered),
                                status: OrderStatus::from_bricklink(
                                    &o.status,
                                    o.payment.as_ref().and_then(|p| p.status.as_deref()),
                                ),
                                marketplace_status: o.status,
                            }),
                    );
                }
                Ok(listed)
            }
            Self::BrickOwl(client) => {
                let query = OrderQuery {
                    limit: Some(5_000),
                    by_updated: true,
                    ..OrderQuery::default()
                };
                Ok(client
                    .orders(&query, priority)
                    .await?
                    .into_iter()
                    .map(|o| Listed {
                        order_id: o.order_id,
                        changed_at: unix(o.updated_time.unwrap_or(o.order_date)),
                        status: OrderStatus::from_brickowl(o.status_id),
                        marketplace_status: o.status,
                    })
                    .collect())
            }
        }
    }

    /// One order with its items.
    pub async fn order(
        &self,
        order_id: &str,
        priority: Priority,
    ) -> Result<OrderDetail, MarketplaceError> {
        match self {
            Self::BrickLink(client) => {
                let id: i64 = order_id
                    .parse()
                    .map_err(|_| MarketplaceError::NotFound(format!("order {order_id}")))?;
                let order = client.order(id, priority).await?;
                let batches = client.order_items(id, priority).await?;
                Ok(from_bricklink(order, batches))
            }
            Self::BrickOwl(client) => {
                let order = client.order(order_id, priority).await?;
                let items = client.order_items(order_id, priority).await?;
                Ok(from_brickowl(order, items))
            }
        }
    }

    /// Moves an order to `status` (with a tracking number when given).
    pub async fn set_status(
        &self,
        order_id: &str,
        status: OrderStatus,
        tracking: Option<&str>,
        priority: Priority,
    ) -> Result<(), MarketplaceError> {
        let refused = || {
            MarketplaceError::Refused(format!(
                "{} orders cannot be set to \"{}\" from brickdesk",
                self.marketplace(),
                status.label()
            ))
        };
        match self {
            Self::BrickLink(client) => {
                let id: i64 = order_id
                    .parse()
                    .map_err(|_| MarketplaceError::NotFound(format!("order {order_id}")))?;
                let value = status.to_bricklink().ok_or_else(refused)?;
                if let Some(tracking) = tracking {
                    client.update_tracking(id, tracking, priority).await?;
                }
                client.update_status(id, value, priority).await?;
                if status == OrderStatus::Paid {
                    client
                        .update_payment_status(id, "Received", priority)
                        .await?;
                }
                Ok(())
            }
            Self::BrickOwl(client) => {
                let value = status.to_brickowl().ok_or_else(refused)?;
                if let Some(tracking) = tracking {
                    client.set_tracking(order_id, tracking, priority).await?;
                }
                client.set_status(order_id, value, priority).await
            }
        }
    }
}

fn unix(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn some_text(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

fn from_bricklink(
    order: bricklink::wire::Order,
    batches: Vec<Vec<bricklink::wire::OrderItem>>,
) -> OrderDetail {
    let payment_status = order.payment.as_ref().and_then(|p| p.status.clone());
    let shipping = order.shipping.unwrap_or(bricklink::wire::Shipping {
        method: None,
        method_id: None,
        tracking_no: None,
        tracking_link: None,
        date_shipped: None,
        address: None,
    });
    let address = shipping.address;
    let lines: Vec<OrderLine> = batches
        .into_iter()
        .enumerate()
        .flat_map(|(batch, items)| {
            items.into_iter().map(move |item| OrderLine {
                image: Some(app::routes::image(
                    &item.item.kind,
                    &item.item.no,
                    item.color_id,
                )),
                item_type: item.item.kind.to_ascii_uppercase(),
                item_no: item.item.no,
                name: item.item.name.unwrap_or_default(),
                color_id: item.color_id,
                color_name: item.color_name,
                quantity: item.quantity,
                new: item.new_or_used == "N",
                unit_price: item.unit_price_final,
                remarks: some_text(item.remarks),
                batch: u32::try_from(batch + 1).unwrap_or(u32::MAX),
                lot: Some(app::LineLot {
                    id: item.inventory_id,
                    bricklink_id: None,
                }),
            })
        })
        .collect();
    OrderDetail {
        summary: OrderSummary {
            marketplace: Marketplace::BrickLink,
            order_id: order.order_id.to_string(),
            ordered_at: order.date_ordered,
            changed_at: order.date_status_changed.unwrap_or(order.date_ordered),
            status: OrderStatus::from_bricklink(&order.status, payment_status.as_deref()),
            marketplace_status: order.status,
            buyer: order.buyer_name,
            total: order.cost.grand_total,
            currency: order.cost.currency_code.clone(),
            items: order.total_count,
            lots: order.unique_count,
            filed: order.is_filed,
        },
        buyer_email: some_text(order.buyer_email),
        shipment: Shipment {
            name: address
                .as_ref()
                .and_then(|a| a.name.as_ref())
                .and_then(|n| {
                    n.full.clone().or_else(|| {
                        let joined = [n.first.clone(), n.last.clone()]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join(" ");
                        some_text(Some(joined))
                    })
                }),
            address: address
                .as_ref()
                .map(|a| {
                    let parts = [
                        a.address1.clone(),
                        a.address2.clone(),
                        a.city.clone(),
                        a.state.clone(),
                        a.postal_code.clone(),
                    ];
                    let parts: Vec<String> = parts.into_iter().filter_map(some_text).collect();
                    if parts.is_empty() {
                        a.full.clone().into_iter().collect()
                    } else {
                        parts
                    }
                })
                .unwrap_or_default(),
            country: address.and_then(|a| a.country_code),
            method: some_text(shipping.method),
            tracking: some_text(shipping.tracking_no),
        },
        subtotal: order.cost.subtotal,
        shipping_cost: order.cost.shipping.unwrap_or(Money::ZERO),
        remarks: some_text(order.remarks),
        lines,
        synced_at: OffsetDateTime::now_utc(),
        store_id: None,
        tax: app::OrderTax::of(order.cost.vat_rate, order.cost.vat_amount),
    }
}

fn from_brickowl(
    order: brickowl::wire::Order,
    items: Vec<brickowl::wire::OrderItem>,
) -> OrderDetail {
    let store_id = order.store_id.clone();
    let ordered_at = unix(order.order_time);
    let name = [order.ship_first_name.clone(), order.ship_last_name.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let items_count = items.iter().map(|i| i.ordered_quantity).sum::<i64>();
    let lines = items
        .into_iter()
        .map(|item| {
            let number = |kind: &str| {
                item.ids
                    .iter()
                    .find(|i| i.kind == kind)
                    .map(|i| i.id.clone())
            };
            OrderLine {
                item_type: app::ItemType::Part.as_str().into(),
                item_no: number("bl_item_no")
                    .or_else(|| number("design_id"))
                    .or_else(|| item.boid.clone())
                    .unwrap_or_default(),
                name: item.name,
                color_id: item.color_id.unwrap_or(0),
                color_name: item.color_name,
                quantity: item.ordered_quantity,
                new: item
                    .condition
                    .as_deref()
                    .is_some_and(|c| c.starts_with("New")),
                unit_price: item.base_price,
                remarks: some_text(item.personal_note),
                batch: 1,
                image: None,
                lot: item.lot_id.map(|id| app::LineLot {
                    id,
                    bricklink_id: item.bl_lot_id.or_else(|| {
                        item.external_lot_ids
                            .get("other")
                            .and_then(|other| other.trim().parse().ok())
                    }),
                }),
            }
        })
        .collect::<Vec<_>>();
    OrderDetail {
        summary: OrderSummary {
            marketplace: Marketplace::BrickOwl,
            order_id: order.order_id,
            ordered_at,
            changed_at: unix(
                order
                    .updated_time
                    .or(order.processed_time)
                    .unwrap_or(order.order_time),
            ),
            status: OrderStatus::from_brickowl(order.status_id),
            marketplace_status: order.status,
            buyer: order
                .customer_username
                .or(order.buyer_name)
                .unwrap_or_default(),
            total: order
                .base_order_total
                .or(order.payment_total)
                .unwrap_or(Money::ZERO),
            currency: order.base_currency.unwrap_or_default(),
            items: order.total_quantity.unwrap_or(items_count),
            lots: order.total_lots.unwrap_or(lines.len() as i64),
            filed: false,
        },
        buyer_email: some_text(order.customer_email),
        shipment: Shipment {
            name: some_text(Some(name)),
            address: [
                order.ship_street_1,
                order.ship_street_2,
                order.ship_city,
                order.ship_region,
                order.ship_post_code,
            ]
            .into_iter()
            .filter_map(some_text)
            .collect(),
            country: some_text(order.ship_country_code),
            method: some_text(order.ship_method_name),
            tracking: some_text(order.tracking_number),
        },
        subtotal: order.sub_total.unwrap_or(Money::ZERO),
        shipping_cost: order.ship_total.unwrap_or(Money::ZERO),
        remarks: some_text(order.buyer_note),
        lines,
        synced_at: OffsetDateTime::now_utc(),
        store_id,
        tax: app::OrderTax::of(order.tax_rate, order.tax_amount),
    }
}
