/* Placeholder: the implementation lands with its work item. */
