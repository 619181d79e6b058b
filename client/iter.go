package client

import (
	"context"
	"iter"
)

// Clients walks every client ListClients would list with p's filters,
// page after page from p.PageNumber (the first when 0), p.PageSize at a
// time. An error ends the walk: it is yielded once, with a zero client.
// Breaking out of the loop stops the walk without another call.
//
//	for oc, err := range c.Clients(ctx, client.ListClientsParams{ClientType: "public"}) {
//		if err != nil { return err }
//		fmt.Println(oc.ClientID)
//	}
func (c *Client) Clients(ctx context.Context, p ListClientsParams) iter.Seq2[OAuthClient, error] {
	return pages(p.PageNumber, func(n int) ([]OAuthClient, Meta, error) {
		p.PageNumber = n
		l, err := c.ListClients(ctx, p)
		if err != nil {
			return nil, Meta{}, err
		}
		return l.Data, l.Meta, nil
	})
}

// Grants walks every grant ListGrants would list, as Clients does.
func (c *Client) Grants(ctx context.Context, p ListGrantsParams) iter.Seq2[Grant, error] {
	return pages(p.PageNumber, func(n int) ([]Grant, Meta, error) {
		p.PageNumber = n
		l, err := c.ListGrants(ctx, p)
		if err != nil {
			return nil, Meta{}, err
		}
		return l.Data, l.Meta, nil
	})
}

// pages yields the elements of page first, first+1, … as page answers
// them, until a page is empty or is the last the meta counts.
func pages[T any](first int, page func(n int) ([]T, Meta, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		n := max(first, 1)
		for {
			data, m, err := page(n)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, v := range data {
				if !yield(v, nil) {
					return
				}
			}
			if len(data) == 0 || n >= m.TotalPages {
				return
			}
			n++
		}
	}
}
