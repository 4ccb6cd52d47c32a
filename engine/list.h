/* SPDX-License-Identifier: MIT */
/*
 * list.h - intrusive doubly linked lists, the shape of include/linux/list.h.
 *
 * The engine keeps vma->anon_vma_chain (the same_vma list) and the
 * session's object lists with these, so the order of a walk over them is the
 * order the kernel would see.
 */
#ifndef RMAPD_LIST_H
#define RMAPD_LIST_H

#include <stdbool.h>
#include <stddef.h>

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

struct list_head {
	struct list_head *next, *prev;
};

static inline void INIT_LIST_HEAD(struct list_head *list)
{
	list->next = list;
	list->prev = list;
}

static inline void list_insert_between(struct list_head *entry,
				       struct list_head *prev,
				       struct list_head *next)
{
	next->prev = entry;
	entry->next = next;
	entry->prev = prev;
	prev->next = entry;
}

/* Add after head: the kernel's list_add, so iteration sees newest first. */
static inline void list_add(struct list_head *entry, struct list_head *head)
{
	list_insert_between(entry, head, head->next);
}

static inline void list_add_tail(struct list_head *entry,
				 struct list_head *head)
{
	list_insert_between(entry, head->prev, head);
}

static inline void list_del(struct list_head *entry)
{
	entry->next->prev = entry->prev;
	entry->prev->next = entry->next;
	entry->next = entry;
	entry->prev = entry;
}

static inline bool list_empty(const struct list_head *head)
{
	return head->next == head;
}

static inline bool list_is_singular(const struct list_head *head)
{
	return !list_empty(head) && head->next == head->prev;
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)

#define list_for_each_entry(pos, head, member)				     \
	for (pos = list_entry((head)->next, __typeof__(*pos), member);	     \
	     &pos->member != (head);					     \
	     pos = list_entry(pos->member.next, __typeof__(*pos), member))

#define list_for_each_entry_reverse(pos, head, member)			     \
	for (pos = list_entry((head)->prev, __typeof__(*pos), member);	     \
	     &pos->member != (head);					     \
	     pos = list_entry(pos->member.prev, __typeof__(*pos), member))

#define list_for_each_entry_safe(pos, n, head, member)			     \
	for (pos = list_entry((head)->next, __typeof__(*pos), member),	     \
	     n = list_entry(pos->member.next, __typeof__(*pos), member);     \
	     &pos->member != (head);					     \
	     pos = n, n = list_entry(n->member.next, __typeof__(*n), member))

#endif /* RMAPD_LIST_H */
