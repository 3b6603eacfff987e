package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/guyub/guyub/loyalty"
)

// loadLoyalty gives the demo a coupon and an item to redeem, a badge given by hand, and the
// levels the demo members' tenure and points earn.
func loadLoyalty(ctx context.Context, d Deps) error {
	existing, err := d.Loyalty.Rewards(ctx, true)
	if err != nil {
		return err
	}
	if len(existing) == 0 {
		coupon, err := d.Loyalty.CreateReward(ctx, loyalty.RewardInput{Name: "10% off your next order", NameID: "Diskon 10% untuk pesanan berikutnya",
			Description: "A code for the shop's checkout.", DescriptionID: "Kode untuk kasir toko.", Cost: 20, Kind: loyalty.KindCoupon})
		if err != nil {
			return fmt.Errorf("demo reward: %w", err)
		}
		var codes strings.Builder
		for i := 1; i <= 25; i++ {
			fmt.Fprintf(&codes, "GUYUB-DEMO-%04d\n", i)
		}
		if _, err := d.Loyalty.AddCodes(ctx, coupon.ID, strings.NewReader(codes.String())); err != nil {
			return fmt.Errorf("demo codes: %w", err)
		}
		if _, err := d.Loyalty.CreateReward(ctx, loyalty.RewardInput{Name: "Guyub batik tote bag", NameID: "Tas tote batik Guyub",
			Description: "Sent to you by post.", DescriptionID: "Dikirim kepada Anda lewat pos.", Cost: 60, Kind: loyalty.KindItem, Stock: 5}); err != nil {
			return fmt.Errorf("demo reward: %w", err)
		}
	}
	admin, err := d.Customers.FindByEmail(ctx, AdminEmail)
	if err != nil {
		return err
	}
	budi, err := d.Customers.FindByEmail(ctx, "budi@guyub.example")
	if err != nil {
		return err
	}
	if _, err := d.Loyalty.Award(ctx, admin, budi.ID, "community_hero", "Answers every rice cooker question / Menjawab semua pertanyaan penanak nasi"); err != nil {
		return err
	}
	// Levels follow tenure too: set them now for the members made a while ago.
	_, err = d.Loyalty.RepairBalances(ctx)
	return err
}
